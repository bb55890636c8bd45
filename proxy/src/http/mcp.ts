import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { InitializeRequest } from '@modelcontextprotocol/server';
import {
  createMcpHandler,
  isInitializeRequest,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { withFastPath } from '../gateway/fastpath.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import { createClassifier } from './classify.js';
import { modernDirect, sessionDirect } from './direct.js';
import { refuseParamHeaderMismatch } from './param-check.js';
import { principalOf } from './oauth.js';
import { requestId, RpcCode, sendRpcError } from './respond.js';
import type { LiveSession, RestoreMetrics, SessionRefusal } from './restore.js';
import { createRestorer, notFound } from './restore.js';
import type { SessionSeal } from './seal.js';
import type { HttpSession, HttpSessions } from './sessions.js';
import { headersOnly, sendWebResponse } from './web.js';

export interface McpRouteOptions {
  gateway: Gateway;
  sessions: HttpSessions;
  log: Logger;
  maxBodyBytes: number;
  maxSubscriptions: number;
  /** With a session key: 2025-era ids are sealed, and ids this replica never issued are restored. */
  seal?: SessionSeal;
  restores?: RestoreMetrics;
  /**
   * Answer relayed calls straight on Node's request and response (direct.ts); default true.
   * Off, every request goes through the SDK: what the direct answers are tested against.
   */
  directAnswers?: boolean;
  /** Serve this virtual server's view (/mcp/<name>) instead of the whole catalog. */
  view?: string;
}

export interface McpRoute {
  /** Serves POST, GET and DELETE on /mcp (after the guards and the JSON body parser). */
  handle: RequestHandler;
  close(): Promise<void>;
}

/** The 2026-07-28 methods the proxy answers; any other may be the SDK's -32601 from our relay fallback. */
const MODERN_METHODS = new Set([
  'server/discover',
  'subscriptions/listen',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
]);

/**
 * 2026-07-28 says an unknown method is HTTP 404 with -32601. The SDK sets that status only for
 * errors raised before dispatch; the gateway's relay fallback (which must stay a fallback: typed
 * handlers would re-validate every relayed result) answers unknown methods after it, with 200.
 * Only responses to methods outside the known set are looked at, so relayed calls stay unbuffered.
 */
async function unknownMethodAs404(
  response: globalThis.Response,
  body: unknown,
): Promise<globalThis.Response> {
  const method =
    typeof body === 'object' && body !== null ? (body as { method?: unknown }).method : undefined;
  if (response.status !== 200 || typeof method !== 'string' || MODERN_METHODS.has(method)) return response;
  if (!response.headers.get('content-type')?.includes('application/json')) return response;
  const text = await response.text();
  let code: unknown;
  try {
    code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
  } catch {
    // Not one JSON-RPC message: pass it on as it came.
  }
  return new Response(text, {
    status: code === RpcCode.methodNotFound ? 404 : 200,
    headers: response.headers,
  });
}

/** The resource URIs a `subscriptions/listen` request asks updates for (none for any other body). */
function listenedUris(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const { method, params } = body as {
    method?: unknown;
    params?: { notifications?: { resourceSubscriptions?: unknown } };
  };
  const uris = method === 'subscriptions/listen' ? params?.notifications?.resourceSubscriptions : undefined;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === 'string') : [];
}

/**
 * Streamable HTTP for both protocol eras on one path. 2026-07-28 requests are self-contained
 * and served statelessly, so any replica can answer them; 2025-era clients (and older) get
 * real sessions, because only a session can carry server-to-client requests (sampling,
 * elicitation, roots) and the GET notification stream. `isLegacyRequest` is the SDK's own
 * classification, so this branch never disagrees with the modern handler.
 */
export function createMcpRoute(options: McpRouteOptions): McpRoute {
  const { gateway, sessions, maxBodyBytes } = options;
  const log = options.log.with({
    [Field.transport]: 'streamable-http',
    ...(options.view !== undefined && { virtualServer: options.view }),
  });
  const onerror = (error: Error): void => log.debug('mcp handler error', { [Field.error]: error.message });

  const { view } = options;
  const direct = options.directAnswers ?? true;
  const relay = () => gateway.statelessRelay(view);
  const answerModern = modernDirect(relay, gateway.serverInfo);
  const classify = createClassifier();
  // A session belongs to its subject and to the endpoint it was opened on: an id from one virtual
  // server presented at another is unknown there (and its sealed form will not restore there).
  const bindingOf = (res: Response): string | undefined =>
    view === undefined ? principalOf(res) : JSON.stringify([view, principalOf(res) ?? null]);

  const modern = createMcpHandler(() => gateway.createStatelessServer(view), {
    legacy: 'reject',
    maxRequestBodySize: maxBodyBytes,
    // Open subscriptions/listen streams are the 2026 era's long-lived connections: same cap as sessions.
    maxSubscriptions: options.maxSubscriptions,
    onerror,
  });
  const detachNotifier = gateway.addNotifier(modern.notify, view);
  const modernNode = toNodeHandler(
    {
      fetch: async (request, opts) => unknownMethodAs404(await modern.fetch(request, opts), opts?.parsedBody),
    },
    { maxRequestBodySize: maxBodyBytes, onerror },
  );

  const live = new Map<string, LiveSession>();

  /** A session's transport and server, registered (and counted against the cap) under `id`. */
  const start = async (
    id: string,
    principal: string | undefined,
  ): Promise<{ entry: LiveSession; session: HttpSession }> => {
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      maxRequestBodySize: maxBodyBytes,
    });
    transport.onerror = onerror;
    // Set before connect(): the server chains its own close handling after ours.
    transport.onclose = () => {
      live.delete(id);
      sessions.forget(id);
    };
    const { server, relayedFor, sharedCatalog } = gateway.createSession('streamable-http', view);
    const wired = withFastPath(transport, relayedFor);
    const directSession = { id, transport: wired, relayedFor, sharedCatalog };
    const entry: LiveSession = {
      transport,
      server,
      principal,
      serve: async (req, res) => {
        if (direct && sessionDirect(req, res, directSession)) return;
        const parsed = req.body === undefined ? undefined : { parsedBody: req.body as unknown };
        const response = await transport.handleRequest(headersOnly(req), parsed);
        await sendWebResponse(response, res, req.method === 'GET');
      },
    };
    live.set(id, entry);
    const session = sessions.add(id, 'streamable-http', () => server.close());
    try {
      await server.connect(wired);
    } catch (error) {
      await sessions.close(id, 'connect failed');
      throw error;
    }
    return { entry, session };
  };

  const restorer =
    options.seal &&
    createRestorer({
      seal: options.seal,
      sessions,
      admit: () => sessions.admit(),
      start,
      metrics: options.restores,
      log,
    });

  const openSession = async (req: Request, res: Response, body: InitializeRequest): Promise<void> => {
    const refusal = sessions.admit();
    if (refusal) {
      sendRpcError(res, 503, RpcCode.refused, refusal, requestId(req.body));
      return;
    }
    // The id is chosen before the transport exists so the session counts against the cap at once.
    const principal = bindingOf(res);
    const id = restorer?.sealedId(body.params, principal) ?? randomUUID();
    const { entry, session } = await start(id, principal);
    sessions.track(session, res);
    try {
      await entry.serve(req, res);
    } catch (error) {
      await sessions.close(id, 'initialize failed');
      throw error;
    }
    if (entry.transport.sessionId !== id) {
      // The transport refused the initialize (malformed, batched…): nothing to keep.
      await sessions.close(id, 'initialize refused');
      return;
    }
    log.debug('session opened', { [Field.session]: id });
  };

  /** The live session `id`, restored from its sealed id if this replica has never seen it. */
  const find = async (id: string, req: Request, res: Response): Promise<LiveSession | SessionRefusal> => {
    const principal = bindingOf(res);
    const version = req.headers['mcp-protocol-version'];
    const found =
      live.get(id) ??
      (restorer
        ? await restorer.restore(id, Array.isArray(version) ? version[0] : version, principal)
        : notFound(id));
    // With OAuth a session belongs to the subject whose token opened it. To anyone else it does
    // not exist: the same 404 as an unknown id, so a leaked id tells its holder nothing.
    if (!('refused' in found) && found.principal !== principal) {
      log.warn('session id presented with another subject’s token', { [Field.session]: id });
      return notFound(id);
    }
    return found;
  };

  const serveLegacy = async (req: Request, res: Response): Promise<void> => {
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const found = await find(sessionId, req, res);
      const session = sessions.get(sessionId);
      if ('refused' in found || !session) {
        const refusal = 'refused' in found ? found : notFound(sessionId);
        sendRpcError(res, refusal.status, refusal.code, refusal.refused, requestId(req.body));
        return;
      }
      sessions.track(session, res);
      await found.serve(req, res);
      // A session the client ended stays ended here, though its id would still open.
      if (req.method === 'DELETE' && !live.has(sessionId)) restorer?.terminated(sessionId);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(req.body)) {
      await openSession(req, res, req.body);
      return;
    }
    sendRpcError(
      res,
      400,
      RpcCode.refused,
      'Bad Request: Mcp-Session-Id header required (send initialize first to open a session)',
      requestId(req.body),
    );
  };

  const handle: RequestHandler = async (req, res) => {
    try {
      // A request naming a live session is 2025-era by definition: skip classifying it (the hot path).
      const sessionHeader = req.headers['mcp-session-id'];
      const route = typeof sessionHeader === 'string' && live.has(sessionHeader) ? 'live' : classify(req);
      if (route === 'live' || route === 'no-body' || route.kind === 'legacy') {
        await serveLegacy(req, res);
        return;
      }
      if (route.kind === 'modern' && refuseParamHeaderMismatch(req, res, route, relay)) return;
      if (direct && route.kind === 'modern' && answerModern(req, res, route)) return;
      const watched = listenedUris(req.body);
      if (watched.length > 0) res.once('close', gateway.watchResources(watched));
      await modernNode(req, res, req.body);
    } catch (error) {
      // One broken request never takes the front door (or another session) down.
      log.warn('mcp request failed', { [Field.error]: errorMessage(error) });
      sendRpcError(
        res,
        500,
        RpcCode.internalError,
        `internal error: ${errorMessage(error)}`,
        requestId(req.body),
      );
    }
  };

  return {
    handle,
    close: () => {
      detachNotifier();
      return modern.close();
    },
  };
}
