import type { Response } from 'express';

/** JSON-RPC error codes used by the HTTP front door (the SDK's transports use the same ones). */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  /** Server-defined: refused at the HTTP layer (cap, origin, size) before any MCP handling. */
  refused: -32000,
  sessionNotFound: -32001,
  internalError: -32603,
} as const;

/** Admin, health and guard errors: one shape a person or a script can act on. */
export function sendError(res: Response, status: number, error: string, issues?: string[]): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json(issues ? { error, issues } : { error });
}

/**
 * Errors on MCP routes are JSON-RPC error responses, so MCP clients surface the message;
 * `id` is the request's when it is known, else null as JSON-RPC requires.
 */
export function sendRpcError(
  res: Response,
  status: number,
  code: number,
  message: string,
  id: string | number | null = null,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id });
}

/** The JSON-RPC id of a parsed single request body, for error answers that should correlate. */
export function requestId(body: unknown): string | number | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** MCP routes answer in JSON-RPC; everything else in the admin shape. */
export function isMcpPath(path: string): boolean {
  return (
    path === '/mcp' ||
    path === '/sse' ||
    path === '/messages' ||
    // A virtual server's endpoints: /mcp/<name>, /sse/<name>, /messages/<name>.
    /^\/(mcp|sse|messages)\/[^/]+$/.test(path)
  );
}
