import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ConfigError } from '../config/errors.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { AdminTokenSource, AdminTokenState } from './admin-token.js';
import { boundedJson } from './json-body.js';
import { isMcpPath, RpcCode, sendError, sendRpcError } from './respond.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** A bind address or hostname that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return LOOPBACK_NAMES.has(name) || /^127(\.\d{1,3}){3}$/.test(name) || name.endsWith('.localhost');
}

export interface AdminAccessOptions {
  /** The address the admin routes are served on (the admin listener's, or the MCP one's). */
  host: string;
  /** A fixed token, or where to read the current one (a watched token file). */
  adminToken?: string | AdminTokenSource | undefined;
}

export interface Refusal {
  status: 401 | 403 | 503;
  error: string;
}

const NO_TOKEN_FIX =
  'Give it a token with --admin-token-file <path> (a mounted Secret), --admin-token <token> or env MULTI_MCP_ADMIN_TOKEN, ' +
  'or serve the admin API on its own loopback listener with --admin-port <port> (--admin-host defaults to 127.0.0.1)';

function tokenState(adminToken: AdminAccessOptions['adminToken']): AdminTokenState | undefined {
  if (adminToken === undefined || adminToken === '') return undefined;
  return typeof adminToken === 'string' ? { token: adminToken } : adminToken.current();
}

/**
 * Whether a request may use the admin API. The admin API can start processes on this machine,
 * so it is never open beyond loopback without a token, and with a token every call needs it.
 * A token file that became unusable refuses everyone (see admin-token.ts).
 */
export function checkAdminAccess(
  options: AdminAccessOptions,
  authorization: string | undefined,
): Refusal | undefined {
  const state = tokenState(options.adminToken);
  if (state === undefined) {
    if (isLoopbackHost(options.host)) return undefined;
    return {
      status: 403,
      error: `the admin API is disabled: it is served on ${options.host}, beyond loopback, without an admin token. ${NO_TOKEN_FIX}; then send "Authorization: Bearer <token>"`,
    };
  }
  if ('unusable' in state) {
    return { status: 503, error: `${state.unusable}; the admin API refuses every request until it is fixed` };
  }
  const presented = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
  if (presented === undefined) {
    return { status: 401, error: 'the admin API needs "Authorization: Bearer <admin token>"' };
  }
  if (!sameSecret(presented, state.token)) {
    const from =
      typeof options.adminToken === 'string' || options.adminToken === undefined
        ? 'the one multi-mcp was started with'
        : `the one in ${options.adminToken.describe}`;
    return { status: 401, error: `the admin token in "Authorization: Bearer …" is not ${from}` };
  }
  return undefined;
}

/**
 * Refuses a front door whose admin routes would be reachable beyond loopback with no token: such a
 * proxy would answer every admin call with 403 at best, and its operator meant something else.
 */
export function checkAdminExposure(adminHost: string, hasToken: boolean): ConfigError | undefined {
  if (hasToken || isLoopbackHost(adminHost)) return undefined;
  return new ConfigError(
    `refusing to start: the admin API (which can start processes) would be served on ${adminHost}, beyond loopback, without a token`,
    [NO_TOKEN_FIX],
  );
}

/** Constant-time comparison; hashing first makes the lengths equal so length leaks nothing either. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function adminGuard(options: AdminAccessOptions): RequestHandler {
  return (req, res, next) => {
    const refusal = checkAdminAccess(options, req.headers.authorization);
    if (!refusal) return next();
    if (refusal.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="multi-mcp admin"');
    sendError(res, refusal.status, refusal.error);
  };
}

/**
 * Browsers always send `Origin` on cross-site requests, MCP clients outside a browser do not: a
 * missing Origin passes, a present one must be this machine or explicitly allowed. This is what
 * stops a web page from driving a local proxy (and DNS rebinding, together with the Host check).
 */
export function originAllowed(origin: string, allowedOrigins: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (isLoopbackHost(parsed.hostname)) return true;
  return allowedOrigins.some(
    (allowed) => allowed === '*' || allowed === parsed.origin || allowed.toLowerCase() === parsed.hostname,
  );
}

export function originGuard(allowedOrigins: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined || originAllowed(origin, allowedOrigins)) return next();
    const message =
      `Origin ${JSON.stringify(origin)} is not allowed. ` +
      `To let a browser page at that origin connect, start multi-mcp with --allow-origin ${origin}`;
    refuse(req.path, res, 403, message);
  };
}

/** Host header values whose verdict the host guard keeps (a few in practice; a cap against a flood). */
const MAX_REMEMBERED_HOSTS = 64;

/**
 * On a loopback bind, the Host header must name this machine: a page on a rebound domain that
 * resolves to 127.0.0.1 sends its own name. Binds beyond loopback serve whatever names route here.
 */
export function hostGuard(bindHost: string): RequestHandler {
  const active = isLoopbackHost(bindHost);
  // Clients send the same few Host values: each is parsed once (the verdict depends on the text alone).
  const verdicts = new Map<string, boolean>();
  const loopbackName = (host: string): boolean => {
    let verdict = verdicts.get(host);
    if (verdict === undefined) {
      let hostname: string | undefined;
      try {
        hostname = new URL(`http://${host}`).hostname;
      } catch {
        hostname = undefined;
      }
      verdict = hostname !== undefined && isLoopbackHost(hostname);
      if (verdicts.size < MAX_REMEMBERED_HOSTS) verdicts.set(host, verdict);
    }
    return verdict;
  };
  return (req, res, next) => {
    if (!active) return next();
    const host = req.headers.host;
    if (host && loopbackName(host)) return next();
    const message =
      `Host ${JSON.stringify(host ?? '')} is not allowed: multi-mcp is bound to loopback (${bindHost}) and ` +
      'answers only localhost, 127.0.0.1 and [::1]. Bind with --host to serve other names';
    refuse(req.path, res, 403, message);
  };
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Bounded JSON bodies. Requests that carry a body must say it is JSON; the MCP transports would
 * otherwise read the raw stream themselves, outside the size bound.
 */
export function jsonBody(maxBodyBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (!hasBody && (req.method === 'GET' || req.method === 'DELETE' || req.method === 'HEAD')) return next();
    if (req.is(JSON_TYPES)) return next();
    const type = req.headers['content-type'] ?? 'none';
    refuse(req.path, res, 415, `request bodies must be JSON (Content-Type: application/json), got ${type}`);
  };
  return [requireJson, boundedJson(maxBodyBytes, express.json({ limit: maxBodyBytes, type: JSON_TYPES }))];
}

interface BodyParserError {
  status?: number;
  type?: string;
  message?: string;
}

function asBodyParserError(error: unknown): BodyParserError | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  return error as BodyParserError;
}

/** Maps body-parser failures to answers a client can act on; anything else is an internal error. */
export function bodyErrors(maxBodyBytes: number, log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const parsed = asBodyParserError(error);
    if (parsed?.type === 'entity.too.large') {
      refuse(
        req.path,
        res,
        413,
        `request body is larger than the limit of ${maxBodyBytes} bytes (--max-body-bytes)`,
      );
      return;
    }
    if (parsed?.type === 'entity.parse.failed') {
      const message = `request body is not valid JSON: ${parsed.message ?? 'parse error'}`;
      if (isMcpPath(req.path)) sendRpcError(res, 400, RpcCode.parseError, `Parse error: ${message}`);
      else sendError(res, 400, message);
      return;
    }
    if (parsed?.status !== undefined && parsed.status >= 400 && parsed.status < 500) {
      refuse(req.path, res, parsed.status, parsed.message ?? 'bad request');
      return;
    }
    const message = errorMessage(error);
    log.error('http request failed', { [Field.error]: message, path: req.path });
    refuse(req.path, res, 500, `internal error: ${message}`);
  };
}

function refuse(path: string, res: Parameters<RequestHandler>[1], status: number, message: string): void {
  if (isMcpPath(path))
    sendRpcError(res, status, status >= 500 ? RpcCode.internalError : RpcCode.refused, message);
  else sendError(res, status, message);
}

const EXPOSED_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate, Last-Event-Id';
const ALLOWED_HEADERS =
  'Content-Type, Authorization, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-Id';

/**
 * CORS for browser clients whose Origin passed `originGuard` (localhost or --allow-origin):
 * without it they could send requests but not read the session id or the answers.
 */
export function cors(allowedOrigins: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined || !originAllowed(origin, allowedOrigins)) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
