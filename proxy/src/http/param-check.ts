import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboundModernRoute } from '@modelcontextprotocol/server';
import type { SessionServer } from '../gateway/handlers.js';
import { checkParamHeaders, decodeParamValue } from '../registry/param-headers.js';
import { header, MODERN_REVISION } from './request-shape.js';

/** 2026-07-28 `HeaderMismatch`: headers and body disagree (answered with HTTP 400). */
const HEADER_MISMATCH = -32020;

/**
 * Refuses a 2026-07-28 tools/call whose `Mcp-Param-*` headers disagree with its arguments, as
 * the SDK's HTTP entry does for an `McpServer` (the proxy serves a low-level `Server`, which the
 * SDK does not check): HTTP 400 with -32020 naming the header, the argument and its value.
 * It runs before the direct answers and the SDK alike, so both paths answer the same; and only
 * on a request that passes the checks the SDK makes first (revision, standard headers), so a
 * request with several faults still gets the SDK's answer for the first. True when it answered.
 */
export function refuseParamHeaderMismatch(
  req: IncomingMessage,
  res: ServerResponse,
  route: InboundModernRoute,
  relay: () => SessionServer,
): boolean {
  if (route.messageKind !== 'request' || route.message.method !== 'tools/call') return false;
  const params = route.message.params as Record<string, unknown> | undefined;
  const name = params?.['name'];
  if (typeof name !== 'string') return false;
  const declared = relay().paramHeadersOf(name);
  if (!declared) return false;
  if (route.classification.revision !== MODERN_REVISION) return false;
  if (header(req, 'mcp-protocol-version') === undefined || header(req, 'mcp-method') === undefined)
    return false;
  const nameHeader = header(req, 'mcp-name');
  if (nameHeader === undefined || decodeParamValue(nameHeader.trim()) !== name) return false;
  const mismatch = checkParamHeaders(declared, params?.['arguments'], (h) => header(req, h));
  if (!mismatch) return false;
  const text = JSON.stringify({
    jsonrpc: '2.0',
    error: {
      code: HEADER_MISMATCH,
      message: `Bad Request: the request headers and body disagree: ${mismatch.reason}`,
      data: { mismatch: { header: mismatch.header, body: mismatch.reason } },
    },
    id: route.message.id,
  });
  res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return true;
}
