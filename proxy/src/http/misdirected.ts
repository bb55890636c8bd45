import type { RequestHandler } from 'express';
import { RpcCode, isMcpPath, sendRpcError } from './respond.js';

/**
 * An MCP client pointed at the wrong path (`/`, `/mcpx`, the admin API's `/mcp_servers`) would
 * otherwise get a 404 or a config validation error about keys it never meant to send. Streamable
 * HTTP clients must accept `text/event-stream` on POST, which the admin API's callers never do:
 * such a request gets a JSON-RPC error, which MCP client libraries show, saying where MCP is.
 */
export function misdirectedMcp(): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST' || isMcpPath(req.path)) return next();
    if (!(req.headers.accept ?? '').includes('text/event-stream')) return next();
    sendRpcError(
      res,
      404,
      RpcCode.refused,
      `no MCP endpoint at ${req.path}: multi-mcp serves MCP at /mcp (Streamable HTTP) and /sse (legacy SSE)`,
    );
  };
}
