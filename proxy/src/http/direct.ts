import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  AuthInfo,
  ClientCapabilities,
  Implementation,
  InboundModernRoute,
  JSONRPCMessage,
  LoggingLevel,
  RequestId,
  Result,
} from '@modelcontextprotocol/server';
import {
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
  ProtocolErrorCode,
  SERVER_INFO_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  isJsonContentType,
} from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog/catalog.js';
import type { ListKind } from '../catalog/serialized.js';
import { catalogListBytes } from '../catalog/serialized.js';
import type { FastPathTransport } from '../gateway/fastpath.js';
import { sentParamHeaders } from '../registry/param-headers.js';
import { ENVELOPE_KEYS, header, isPlainObject, jsonRpcRequest, MODERN_REVISION } from './request-shape.js';
import type { SessionServer } from '../gateway/handlers.js';
import { principalOfAuth } from '../gateway/handlers.js';
import type { RelayContext, RelayHandler } from '../gateway/fastpath.js';

// Relayed calls (tools/call, prompts/get, resources/read, completion/complete) answered straight
// on Node's request and response, for both protocol eras: no web-standard Request/Response, no
// per-request `Server` or transport, and one JSON answer instead of an SSE stream. Only requests
// whose every check is already known to pass are taken; anything else (a malformed envelope,
// a header the SDK would reject, a progress token, a retry of an input_required round, a
// batch) goes the SDK's way, so every error the SDK owns is still the SDK's own answer. What is
// answered here is what the SDK would answer, byte for byte (direct.test.ts holds both to it).

/** The body field `Mcp-Name` mirrors, per method (the SDK's standard header validation). */
const NAME_FIELD: Record<string, string | undefined> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'completion/complete': undefined,
};
/** Whole-list requests answered from the catalog's serialised lists, and the list each returns. */
const LISTS: Record<string, ListKind | undefined> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};
/** Results the 2026-07-28 codec stamps with cache fields (of the methods relayed here). */
const CACHEABLE = new Set(['resources/read']);
/** Methods whose results may carry a resultType other than `complete` (input_required). */
const EXTENDED_RESULT_TYPE = new Set(['tools/call', 'prompts/get', 'resources/read']);

type Params = Record<string, unknown>;

/**
 * A single JSON-RPC request for a relayed method (or, with `methods`, a whole-list method),
 * shaped exactly as the SDK's schema wants it.
 */
function relayedRequest(
  body: unknown,
  methods: Record<string, unknown> = NAME_FIELD,
): { id: RequestId; method: string; params: Params } | undefined {
  const request = jsonRpcRequest(body);
  if (!request || !Object.hasOwn(methods, request.method)) return undefined;
  const { id, method, params } = request;
  if (params !== undefined && !isPlainObject(params)) return undefined;
  const meta = params?.['_meta'];
  if (meta !== undefined && !isPlainObject(meta)) return undefined;
  // Progress goes out on the request's own stream, and a task runs past its request: the SDK's way.
  if (meta?.['progressToken'] !== undefined || params?.['task'] !== undefined) return undefined;
  return { id, method, params: params ?? {} };
}

/**
 * A whole list, as `head` + the list's cached JSON bytes + `tail`: the answer is never serialised
 * or encoded per request, however many tools the catalog holds.
 */
function writeList(res: ServerResponse, head: string, list: Buffer, tail: string, sessionId?: string): void {
  const start = Buffer.from(head);
  const end = Buffer.from(tail);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': start.length + list.length + end.length,
    ...(sessionId !== undefined && { 'mcp-session-id': sessionId }),
  });
  res.cork();
  res.write(start);
  res.write(list);
  res.end(end);
  res.uncork();
}

/** A whole-list request (no cursor, nothing but the envelope in `_meta`) and the list it asks for. */
function wholeList(
  body: unknown,
): { id: RequestId; method: string; kind: ListKind; meta: Params | undefined } | undefined {
  const request = relayedRequest(body, LISTS);
  const kind = request && LISTS[request.method];
  if (!request || !kind) return undefined;
  for (const key of Object.keys(request.params)) if (key !== '_meta') return undefined;
  return {
    id: request.id,
    method: request.method,
    kind,
    meta: request.params['_meta'] as Params | undefined,
  };
}

function writeJson(res: ServerResponse, status: number, message: unknown, sessionId?: string): void {
  const text = JSON.stringify(message);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(sessionId !== undefined && { 'mcp-session-id': sessionId }),
  });
  res.end(text);
}

/** Aborts when the client goes away before its answer is written: over HTTP that is the cancellation. */
function abortOnClose(res: ServerResponse): AbortController {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort('client disconnected');
  });
  return controller;
}

/** The 2026-07-28 codec's result encoding (the SDK's `encodeResult`), for the relayed methods. */
function encodeModernResult(method: string, result: Result, serverInfo: Implementation): Result {
  let out: Record<string, unknown> = result;
  const capabilities = out['capabilities'];
  if (isPlainObject(capabilities) && 'tasks' in capabilities) {
    const { tasks: _tasks, ...rest } = capabilities;
    out = { ...out, capabilities: rest };
  }
  const provided = out['resultType'];
  if (provided === undefined) out = { ...out, resultType: 'complete' };
  else if (provided !== 'complete' && !EXTENDED_RESULT_TYPE.has(method)) throw new EncodeError();
  if (out['resultType'] === 'complete' && CACHEABLE.has(method)) {
    const ttlMs = out['ttlMs'];
    const scope = out['cacheScope'];
    out = {
      ...out,
      ttlMs: typeof ttlMs === 'number' && Number.isSafeInteger(ttlMs) && ttlMs >= 0 ? ttlMs : 0,
      cacheScope: scope === 'public' || scope === 'private' ? scope : 'private',
    };
  }
  const meta = out['_meta'];
  if (meta === undefined) out = { ...out, _meta: { [SERVER_INFO_META_KEY]: serverInfo } };
  else if (isPlainObject(meta) && meta[SERVER_INFO_META_KEY] === undefined) {
    out = { ...out, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
  }
  return out as Result;
}

class EncodeError extends Error {}

/** A handler's failure as the SDK's protocol layer answers it on 2026-07-28. */
function modernError(id: RequestId, error: unknown): JSONRPCMessage {
  const { code, message, data } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    data?: unknown;
  };
  const thrown = Number.isSafeInteger(code) ? (code as number) : ProtocolErrorCode.InternalError;
  return {
    jsonrpc: '2.0',
    id,
    error: {
      // The era codec's one error-code translation: resource not found is -32602 on 2026-07-28.
      code: thrown === -32002 ? ProtocolErrorCode.InvalidParams : thrown,
      message: typeof message === 'string' ? message : 'Internal error',
      ...(data !== undefined && { data }),
    },
  };
}

/** Whether `Mcp-Name` is exactly the body's name, needing none of the SDK's decoding. */
function nameHeaderMatches(req: IncomingMessage, method: string, params: Params): boolean {
  const field = NAME_FIELD[method];
  if (field === undefined) return true;
  const value = params[field];
  const name = header(req, 'mcp-name');
  if (typeof value !== 'string') return name === undefined;
  return name === value && value.trim() === value && !value.startsWith('=?');
}

export interface ModernDirect {
  /**
   * Answers a 2026-07-28 relayed call the SDK classified as modern; false (nothing written) when
   * the request needs the SDK's handler.
   */
  (req: IncomingMessage, res: ServerResponse, route: InboundModernRoute): boolean;
}

export function modernDirect(relay: () => SessionServer, serverInfo: Implementation): ModernDirect {
  // The 2026-07-28 codec's stamps on a list result (resultType, the default cache fields, who answers).
  const listTail = `,"resultType":"complete","ttlMs":0,"cacheScope":"private","_meta":${JSON.stringify({
    [SERVER_INFO_META_KEY]: serverInfo,
  })}},"jsonrpc":"2.0","id":`;
  const answerList = (req: IncomingMessage, res: ServerResponse, message: unknown): boolean => {
    const list = wholeList(message);
    if (!list || header(req, 'mcp-protocol-version') !== MODERN_REVISION) return false;
    if (header(req, 'mcp-method') !== list.method || header(req, 'mcp-name') !== undefined) return false;
    if (!isPlainObject(list.meta?.[CLIENT_CAPABILITIES_META_KEY])) return false;
    const catalog = relay().sharedCatalog();
    if (!catalog) return false;
    writeList(
      res,
      `{"result":{"${list.kind}":`,
      catalogListBytes(catalog, list.kind),
      `${listTail}${JSON.stringify(list.id)}}`,
    );
    return true;
  };
  return (req, res, route) => {
    if (route.messageKind !== 'request' || route.classification.revision !== MODERN_REVISION) return false;
    if (req.method !== 'POST' || !isJsonContentType(header(req, 'content-type') ?? null)) return false;
    if (Object.hasOwn(LISTS, (route.message as { method?: string }).method ?? '')) {
      return answerList(req, res, route.message);
    }
    const request = relayedRequest(route.message);
    if (!request) return false;
    const { id, method, params } = request;
    if (header(req, 'mcp-protocol-version') !== MODERN_REVISION || header(req, 'mcp-method') !== method) {
      return false;
    }
    if (!nameHeaderMatches(req, method, params)) return false;
    if ('requestState' in params || 'inputResponses' in params) return false;
    // The SDK's lifting: the envelope's keys leave `_meta`, and `_meta` goes when nothing is left.
    const meta = params['_meta'] as Params | undefined;
    const envelope = meta ?? {};
    const capabilities = envelope[CLIENT_CAPABILITIES_META_KEY];
    if (!isPlainObject(capabilities)) return false;
    const rest: Params = { ...meta };
    for (const key of ENVELOPE_KEYS) delete rest[key];
    const { _meta: _envelope, ...lifted } = params;
    const call = Object.keys(rest).length > 0 ? { ...lifted, _meta: rest } : lifted;

    const controller = abortOnClose(res);
    const context: RelayContext = {
      requestId: id,
      signal: controller.signal,
      // Only progress is ever notified mid-call, and calls with a progress token are not taken.
      notify: async () => {},
    };
    const served = relay().relayModern(
      method,
      {
        params: call,
        capabilities: capabilities as ClientCapabilities,
        requestState: undefined,
        inputResponses: undefined,
        logLevel: envelope[LOG_LEVEL_META_KEY] as LoggingLevel | undefined,
        // The OAuth guard's authInfo: a call that asks for input is bound to this principal.
        principal: principalOfAuth((req as { auth?: AuthInfo }).auth),
        paramHeaders: method === 'tools/call' ? sentParamHeaders(req.headers) : undefined,
      },
      context,
    );
    if (!served) return false;
    void served
      .then(
        (result) => {
          let encoded: Result;
          try {
            encoded = encodeModernResult(method, result, serverInfo);
          } catch {
            return writeJson(res, 200, modernError(id, new Error('Internal error')));
          }
          writeJson(res, 200, { result: encoded, jsonrpc: '2.0', id });
        },
        (error: unknown) => {
          const answer = modernError(id, error);
          // The one handler error the SDK answers with an HTTP error status (its "ladder" code).
          const code = 'error' in answer ? answer.error.code : 0;
          writeJson(res, code === ProtocolErrorCode.MissingRequiredClientCapability ? 400 : 200, answer);
        },
      )
      .catch(() => res.destroy());
    return true;
  };
}

/** What a 2025-era session exposes for answering its relayed calls directly. */
export interface DirectSession {
  id: string;
  transport: FastPathTransport;
  relayedFor: (method: string) => RelayHandler | undefined;
  /** Where its whole-list answers come from, when they need nothing of the session (handlers.ts). */
  sharedCatalog: () => Catalog | undefined;
}

/**
 * Answers a relayed call of an initialized 2025-era session as `application/json` (the
 * Streamable HTTP spec lets the server pick JSON or SSE; every client must accept both, and
 * the transport refuses a POST whose Accept lacks either). Checks what the session's transport
 * would check first; false (nothing written) when the request needs the transport.
 */
export function sessionDirect(
  req: IncomingMessage & { body?: unknown },
  res: ServerResponse,
  session: DirectSession,
): boolean {
  if (req.method !== 'POST' || !session.transport.initialized) return false;
  const accept = header(req, 'accept');
  if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) return false;
  if (!isJsonContentType(header(req, 'content-type') ?? null)) return false;
  if (header(req, 'mcp-session-id') !== session.id || session.transport.sessionId !== session.id)
    return false;
  const version = header(req, 'mcp-protocol-version');
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return false;
  const list = wholeList(req.body);
  if (list) {
    const catalog = list.meta === undefined ? session.sharedCatalog() : undefined;
    if (!catalog) return false;
    // The session transport's member order: result, jsonrpc, id.
    const tail = `},"jsonrpc":"2.0","id":${JSON.stringify(list.id)}}`;
    writeList(res, `{"result":{"${list.kind}":`, catalogListBytes(catalog, list.kind), tail, session.id);
    return true;
  }
  const request = relayedRequest(req.body);
  const handler = request && session.relayedFor(request.method);
  if (!request || !handler) return false;
  void session.transport
    .answerDirect(request.id, handler, request.params)
    .then((response) => {
      // Cancelled: the client has forgotten the id and expects no answer.
      if (!response) return void res.writeHead(204).end();
      writeJson(res, 200, response, session.id);
    })
    .catch(() => res.destroy());
  return true;
}
