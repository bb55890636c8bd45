import type { IncomingMessage } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/server';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from '@modelcontextprotocol/server';

// What the front door's own checks of a request read, shared by the checks that run beside the
// SDK's (classify.ts, direct.ts, param-check.ts) so they agree on what a request looks like.

/** The one 2026-07-28 revision the front door's own answers and checks are written for. */
export const MODERN_REVISION = '2026-07-28';

/** The `_meta` keys of the 2026-07-28 per-request envelope. */
export const ENVELOPE_KEYS: readonly string[] = [
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
];

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A request header as one string (Node gives repeated unknown headers as an array). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The parts of a single JSON-RPC request the SDK's schema accepts at the top level: `jsonrpc`
 * "2.0", an id it takes (a string or a safe integer), a string method, and no other member.
 * `params` is returned as it is, for the caller to judge.
 */
export function jsonRpcRequest(
  body: unknown,
): { id: RequestId; method: string; params: unknown } | undefined {
  if (!isPlainObject(body) || body['jsonrpc'] !== '2.0') return undefined;
  for (const key of Object.keys(body)) if (!REQUEST_KEYS.has(key)) return undefined;
  const { id, method, params } = body;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) return undefined;
  if (typeof method !== 'string') return undefined;
  return { id, method, params };
}
