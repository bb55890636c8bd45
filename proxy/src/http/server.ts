import express from 'express';
import type { Express, RequestHandler } from 'express';
import type { Logger } from '../log.js';
import type { Proxy } from '../proxy.js';
import { createAdminRouter } from './admin.js';
import type { AdminTokenSource } from './admin-token.js';
import { allowCommands } from './allow-command.js';
import {
  adminGuard,
  bodyErrors,
  checkAdminExposure,
  cors,
  hostGuard,
  jsonBody,
  originGuard,
} from './guards.js';
import { healthz, readyz } from './health.js';
import type { HotRoutes } from './hot-route.js';
import { withHotRoutes } from './hot-route.js';
import type { Listening } from './listen.js';
import { listen } from './listen.js';

export { CLOSE_GRACE_MS } from './listen.js';
import { createMcpRoute } from './mcp.js';
import type { FrontDoorMetrics } from './metrics.js';
import { createMetrics } from './metrics.js';
import { misdirectedMcp } from './misdirected.js';
import type { OAuthSettings } from './oauth.js';
import { createResourceServer, oauthGuard, protectedResourceMetadata } from './oauth.js';
import { sendError } from './respond.js';
import type { SessionSeal } from './seal.js';
import { HttpSessions } from './sessions.js';
import { createSseRoutes } from './sse.js';
import { createStatusPage } from './status-page.js';
import { createVirtualServerRouter } from './admin-virtual.js';
import {
  catalogScopeGuard,
  mountVirtualServers,
  VIRTUAL_ROUTES,
  virtualResourceMetadata,
} from './virtual.js';

export interface HttpOptions {
  host: string;
  port: number;
  /**
   * Serve the admin API and /metrics on their own listener (`--admin-host`/`--admin-port`), so
   * the MCP port can face clients (a NodePort) without carrying the API that starts processes.
   * Without it they share the MCP listener, as in the original multi-mcp.
   */
  admin?: { host: string; port: number };
  /** When set, every admin route requires `Authorization: Bearer <token>`: a fixed token or a watched file. */
  adminToken?: string | AdminTokenSource;
  /** Globs of the stdio commands the admin API may start (`--allow-command`); none = any command. */
  allowCommands?: readonly string[];
  maxSessions: number;
  sessionIdleMs: number;
  maxBodyBytes: number;
  /** Browser origins allowed besides localhost (`--allow-origin`); `*` allows any. */
  allowedOrigins?: string[];
  /** The clock session idleness is measured on; tests move it instead of waiting. */
  now?: () => number;
  /** The key shared by replicas (`--session-key-file`): 2025-era sessions move between them. */
  sessionSeal?: SessionSeal;
  /**
   * The MCP routes as an OAuth 2.1 resource server (`--oauth-*`): every MCP request needs a bearer
   * JWT for this endpoint, and sessions are bound to the token's subject. Admin routes keep their own token.
   */
  oauth?: OAuthSettings;
  /** Internal: false sends every MCP request through the SDK (what direct answers are tested against). */
  directAnswers?: boolean;
  /** With OAuth: scopes the whole catalog (/mcp, /sse, /messages) needs on top, not a virtual server's endpoints. */
  catalogScopes?: string[];
}

export interface HttpFrontDoor {
  /** `http://host:port` of the MCP listener, with the port actually bound (useful with port 0). */
  url: string;
  /** Where the admin API answers: the admin listener's URL, or `url` when it shares the MCP one. */
  adminUrl: string;
  /** Shutdown has begun: open sessions are still served, new ones get 503. */
  stopAdmitting(): void;
  /** Requests being answered, long-lived streams (GET) excepted: what a drain waits for. */
  callsInFlight(): number;
  close(): Promise<void>;
}

const MCP_ROUTES = ['POST|GET|DELETE /mcp', 'GET /sse', 'POST /messages?sessionId=…', ...VIRTUAL_ROUTES];
const ADMIN_ROUTES = [
  'GET|POST|PUT /mcp_servers',
  'GET|PUT|DELETE /mcp_servers/{name}',
  'GET /mcp_tools',
  'GET|PUT /virtual_servers',
  'GET|PUT|DELETE /virtual_servers/{name}',
  'GET /metrics',
  'GET / and /ui (status page)',
];
const PROBE_ROUTES = ['GET /healthz', 'GET /readyz'];
export const ROUTES = [...MCP_ROUTES, ...ADMIN_ROUTES, ...PROBE_ROUTES];

const isAdminPath = (path: string): boolean =>
  path === '/mcp_servers' ||
  path.startsWith('/mcp_servers/') ||
  path === '/mcp_tools' ||
  path === '/virtual_servers' ||
  path.startsWith('/virtual_servers/') ||
  path === '/metrics' ||
  path === '/' ||
  path === '/ui' ||
  path.startsWith('/ui/');

function newApp(metrics: FrontDoorMetrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(metrics.middleware);
  return app;
}

function noRoute(routes: string[], adminElsewhere: boolean): RequestHandler {
  return (req, res) => {
    const where =
      adminElsewhere && isAdminPath(req.path)
        ? ' on the MCP listener: the admin API and /metrics have their own listener (--admin-port)'
        : '';
    sendError(res, 404, `no route for ${req.method} ${req.path}${where}; routes here: ${routes.join(', ')}`);
  };
}

/**
 * The HTTP face of the proxy: MCP for both protocol eras at /mcp, legacy SSE at /sse +
 * /messages, the admin API and /metrics next to them or on their own listener, and the probes
 * on both (kubelet probes hit the MCP port). Guards run before any MCP or admin handling.
 */
export async function startHttpFrontDoor(
  proxy: Proxy,
  log: Logger,
  options: HttpOptions,
): Promise<HttpFrontDoor> {
  const adminHost = options.admin?.host ?? options.host;
  const hasToken = options.adminToken !== undefined && options.adminToken !== '';
  const exposure = checkAdminExposure(adminHost, hasToken);
  if (exposure) throw exposure;

  const httpLog = log.with({ component: 'http' });
  const allowedOrigins = options.allowedOrigins ?? [];
  const sessions = new HttpSessions(
    { maxSessions: options.maxSessions, sessionIdleMs: options.sessionIdleMs },
    httpLog,
    options.now,
  );
  const metrics = createMetrics(proxy, sessions);
  const mcp = createMcpRoute({
    gateway: proxy.gateway,
    sessions,
    log: httpLog,
    maxBodyBytes: options.maxBodyBytes,
    maxSubscriptions: options.maxSessions,
    ...(options.directAnswers !== undefined && { directAnswers: options.directAnswers }),
    ...(options.sessionSeal && { seal: options.sessionSeal, restores: metrics.restores }),
  });
  const sse = createSseRoutes({ gateway: proxy.gateway, sessions, log: httpLog, messagesPath: '/messages' });
  const origin = [originGuard(allowedOrigins), cors(allowedOrigins)];
  const resourceServer = options.oauth && createResourceServer(options.oauth, httpLog);
  // Before the body parser: a request without a valid token costs no parsing.
  const auth: RequestHandler[] = resourceServer ? [oauthGuard(resourceServer, httpLog)] : [];
  const body = jsonBody(options.maxBodyBytes);
  const commandPolicy = allowCommands(options.allowCommands ?? []);

  // The guards are part of each admin route, so no path spelling can reach a handler without them.
  const adminRoutes = (host: string): RequestHandler[] => {
    const access = { host, adminToken: options.adminToken };
    const guards = [...origin, adminGuard(access), ...body];
    return [
      createAdminRouter(proxy, httpLog, guards, { commandPolicy }),
      createVirtualServerRouter(proxy, httpLog, guards),
      createStatusPage(proxy, { guards, access, sessionCounts: () => sessions.counts() }),
    ];
  };

  const mcpApp = newApp(metrics);
  const onError = bodyErrors(options.maxBodyBytes, httpLog);
  const host = hostGuard(options.host);
  mcpApp.get('/healthz', healthz);
  mcpApp.get('/readyz', readyz(proxy));
  if (!options.admin) mcpApp.get('/metrics', metrics.scrape);
  mcpApp.use(host);
  const catalogScopes = options.catalogScopes ?? [];
  if (resourceServer) {
    const metadata = protectedResourceMetadata(resourceServer, catalogScopes);
    // The bare form, the path-suffixed one for /mcp (RFC 9728 §3.1), and the audience's own if it differs.
    const wellKnown = '/.well-known/oauth-protected-resource';
    const paths = new Set([wellKnown, `${wellKnown}/mcp`, new URL(resourceServer.metadataUrl).pathname]);
    for (const path of paths) mcpApp.get(path, ...origin, metadata);
    // A virtual server is a path under /mcp: the same resource and tokens, its own scopes.
    const views = new Set([`${wellKnown}/mcp/:name`, resourceServer.viewMetadataRoute]);
    for (const path of views) mcpApp.get(path, ...origin, virtualResourceMetadata(proxy, resourceServer));
  }
  const whole: RequestHandler[] =
    resourceServer && catalogScopes.length > 0
      ? [...auth, catalogScopeGuard(resourceServer, catalogScopes, httpLog)]
      : auth;
  const wholeChain: RequestHandler[] = [...origin, ...whole, ...body, mcp.handle];
  mcpApp.all('/mcp', ...wholeChain);
  mcpApp.get('/sse', ...origin, ...whole, sse.stream);
  const messagesChain: RequestHandler[] = [...origin, ...whole, ...body, sse.messages];
  mcpApp.all('/messages', ...messagesChain);
  const virtual = mountVirtualServers(mcpApp, {
    proxy,
    log: httpLog,
    mcp: {
      sessions,
      maxBodyBytes: options.maxBodyBytes,
      maxSubscriptions: options.maxSessions,
      ...(options.directAnswers !== undefined && { directAnswers: options.directAnswers }),
      ...(options.sessionSeal && { seal: options.sessionSeal, restores: metrics.restores }),
    },
    origin,
    body,
    resourceServer,
  });
  // The router would run the host guard (app-wide, above) and then the route's own chain.
  const hot: HotRoutes = {
    whole: [host, ...wholeChain],
    virtual: [host, ...virtual.mcpChain],
    messages: [host, ...messagesChain],
    virtualMessages: [host, ...virtual.messagesChain],
    onError,
  };
  mcpApp.use(misdirectedMcp());
  // After the MCP routes, so MCP requests that reach the router never walk the admin router's layers.
  if (!options.admin) mcpApp.use(...adminRoutes(options.host));
  const unrouted = noRoute(options.admin ? [...MCP_ROUTES, ...PROBE_ROUTES] : ROUTES, !!options.admin);
  mcpApp.use(unrouted);
  mcpApp.use(onError);
  const mcpListener = withHotRoutes(mcpApp, {
    appWide: [metrics.middleware],
    routes: hot,
    unanswered: unrouted,
  });

  const cleanUp = async (): Promise<void> => {
    await sessions.closeAll();
    await virtual.close();
    await mcp
      .close()
      .catch((error: unknown) => httpLog.debug('mcp handler close failed', { error: String(error) }));
  };

  let mcpListening: Listening;
  try {
    mcpListening = await listen(
      mcpListener,
      options.host,
      options.port,
      { host: '--host', port: '--port' },
      httpLog,
    );
  } catch (error) {
    await cleanUp();
    throw error;
  }

  let adminListener: Listening | undefined;
  if (options.admin) {
    const adminApp = newApp(metrics);
    adminApp.get('/healthz', healthz);
    adminApp.get('/readyz', readyz(proxy));
    adminApp.get('/metrics', metrics.scrape);
    adminApp.use(hostGuard(options.admin.host));
    adminApp.use(...adminRoutes(options.admin.host));
    adminApp.use(noRoute([...ADMIN_ROUTES, ...PROBE_ROUTES], false));
    adminApp.use(bodyErrors(options.maxBodyBytes, httpLog));
    try {
      adminListener = await listen(
        adminApp,
        options.admin.host,
        options.admin.port,
        { host: '--admin-host', port: '--admin-port' },
        httpLog,
      );
    } catch (error) {
      await mcpListening.close(cleanUp);
      throw error;
    }
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.all([mcpListening.close(cleanUp), adminListener?.close()]).then(() => {});
    return closing;
  };
  return {
    url: mcpListening.url,
    adminUrl: adminListener?.url ?? mcpListening.url,
    stopAdmitting: () => sessions.stopAdmitting(),
    callsInFlight: () => mcpListening.callsInFlight() + (adminListener?.callsInFlight() ?? 0),
    close,
  };
}
