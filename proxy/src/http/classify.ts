import type { IncomingMessage } from 'node:http';
import type { InboundClassificationOutcome, JSONRPCRequest } from '@modelcontextprotocol/server';
import { classifyInboundRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { ENVELOPE_KEYS, header, isPlainObject, jsonRpcRequest } from './request-shape.js';

// The SDK's era classification (what its `isLegacyRequest` runs) on the Node request and its parsed
// body, without building a web-standard Request. Most of its cost on a 2026-07-28 request is
// schema validation of the envelope in `_meta` (client info, capabilities), which a client sends
// unchanged with every request. So the classifier remembers the envelopes it found valid: a
// request that is certainly a plain JSON-RPC request with nothing but such an envelope in `_meta`,
// and whose headers name the envelope's version and the body's method, gets the classification
// the SDK gave the first. Anything else, every error included, is classified by the SDK.
// (classify.test.ts holds both to the same outcome.)

/** Distinct envelopes remembered; past this the SDK classifies (a client sending new ones each time gains nothing). */
const MAX_ENVELOPES = 256;

type Classified = Extract<InboundClassificationOutcome, { kind: 'modern'; messageKind: 'request' }>;

/**
 * The envelope of a request whose classification depends on nothing but that envelope: a JSON-RPC
 * request (no result or error member, an id the schema takes, a method other than `initialize`),
 * `_meta` holding envelope keys only (a progress token or related task would be validated too),
 * the version header equal to the envelope's version and `Mcp-Method` equal to the method.
 */
function envelopeOnly(req: IncomingMessage, body: unknown): Record<string, unknown> | undefined {
  const request = jsonRpcRequest(body);
  if (!request || request.method === 'initialize' || !isPlainObject(request.params)) return undefined;
  const { method, params } = request;
  const meta = params['_meta'];
  if (!isPlainObject(meta)) return undefined;
  for (const key of Object.keys(meta)) if (!ENVELOPE_KEYS.includes(key)) return undefined;
  const version = meta[PROTOCOL_VERSION_META_KEY];
  if (typeof version !== 'string' || req.headers['mcp-protocol-version'] !== version) return undefined;
  if (req.headers['mcp-method'] !== method) return undefined;
  return meta;
}

export type Classify = (
  req: IncomingMessage & { body?: unknown },
) => InboundClassificationOutcome | 'no-body';

/** A classifier (one per route) that answers as the SDK does, remembering the envelopes it found valid. */
export function createClassifier(): Classify {
  const valid = new Map<string, Classified['classification']>();

  const bySdk = (req: IncomingMessage & { body?: unknown }): InboundClassificationOutcome => {
    const httpMethod = (req.method ?? 'GET').toUpperCase();
    const protocolVersionHeader = header(req, 'mcp-protocol-version');
    const mcpMethodHeader = header(req, 'mcp-method');
    const mcpNameHeader = header(req, 'mcp-name');
    return classifyInboundRequest({
      httpMethod,
      ...(protocolVersionHeader !== undefined && { protocolVersionHeader }),
      ...(mcpMethodHeader !== undefined && { mcpMethodHeader }),
      ...(mcpNameHeader !== undefined && { mcpNameHeader }),
      ...(httpMethod === 'POST' && { body: req.body }),
    });
  };

  return (req) => {
    // A POST without a JSON body is 2025-era, like the SDK's "no JSON body" step.
    if (req.method === 'POST' && req.body === undefined) return 'no-body';
    const meta = req.method === 'POST' ? envelopeOnly(req, req.body) : undefined;
    if (!meta) return bySdk(req);
    const key = JSON.stringify(meta);
    const known = valid.get(key);
    if (known) {
      return {
        kind: 'modern',
        messageKind: 'request',
        message: req.body as JSONRPCRequest,
        classification: known,
      };
    }
    const outcome = bySdk(req);
    if (outcome.kind === 'modern' && outcome.messageKind === 'request' && valid.size < MAX_ENVELOPES) {
      valid.set(key, outcome.classification);
    }
    return outcome;
  };
}
