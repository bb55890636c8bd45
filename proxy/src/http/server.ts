import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Logger } from '../log.js';
import { errorMessage } from '../log.js';
import type { Proxy } from '../proxy.js';
import { createAdminRouter } from './admin.js';
import { adminGuard, bodyErrors, cors, hostGuard, jsonBody, originGuard } from './guards.js';
import { healthz, readyz } from './health.js';
import { createMcpRoute } from './mcp.js';
import { createMetrics } from './metrics.js';
import { misdirectedMcp } from './misdirected.js';
import { sendError } from './respond.js';
import { HttpSessions } from './sessions.js';
import { createSseRoutes } from './sse.js';
import { createStatusPage } from './status-page.js';

export interface HttpOptions {
  host: string;
  port: number;
  /** When set, every admin route requires `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  maxSessions: number;
  sessionIdleMs: number;
  maxBodyBytes: number;
  /** Browser origins allowed besides localhost (`--allow-origin`); `*` allows any. */
  allowedOrigins?: string[];
  /** The clock session idleness is measured on; tests move it instead of waiting. */
  now?: () => number;
}

export interface HttpFrontDoor {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string;
  /** Shutdown has begun: open sessions are still served, new ones get 503. */
  stopAdmitting(): void;
  /** Requests being answered, long-lived streams (GET) excepted: what a drain waits for. */
  callsInFlight(): number;
  close(): Promise<void>;
}

/** How long close() lets requests still being answered finish before cutting their sockets. */
export const CLOSE_GRACE_MS = 3_000;

export const ROUTES = [
  'POST|GET|DELETE /mcp',
  'GET /sse',
  'POST /messages?sessionId=…',
  'GET|POST|PUT /mcp_servers',
  'GET|PUT|DELETE /mcp_servers/{name}',
  'GET /mcp_tools',
  'GET / and /ui (status page)',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
];

/**
 * The HTTP face of the proxy: MCP for both protocol eras at /mcp, legacy SSE at /sse +
 * /messages, the admin API, health and metrics, on one listener. Guards run before any MCP or
 * admin handling; health and metrics stay reachable for probes and scrapers.
 */
export async function startHttpFrontDoor(
  proxy: Proxy,
  log: Logger,
  options: HttpOptions,
): Promise<HttpFrontDoor> {
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
  });
  const sse = createSseRoutes({ gateway: proxy.gateway, sessions, log: httpLog, messagesPath: '/messages' });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(metrics.middleware);
  // Requests still being answered; on close, sockets with none are cut at once, the rest get a grace period.
  let inFlight = 0;
  let calls = 0;
  let drained: (() => void) | undefined;
  app.use((req, res, next) => {
    inFlight++;
    // GETs are the event streams (which never end on their own) and cheap reads.
    const call = req.method !== 'GET';
    if (call) calls++;
    res.once('close', () => {
      if (call) calls--;
      if (--inFlight === 0) drained?.();
    });
    next();
  });

  app.get('/healthz', healthz);
  app.get('/readyz', readyz(proxy));
  app.get('/metrics', metrics.scrape);

  app.use(hostGuard(options.host));
  const origin = [originGuard(allowedOrigins), cors(allowedOrigins)];
  const body = jsonBody(options.maxBodyBytes);

  app.all('/mcp', ...origin, ...body, mcp.handle);
  app.get('/sse', ...origin, sse.stream);
  app.all('/messages', ...origin, ...body, sse.messages);
  app.use(misdirectedMcp());

  // The guards are part of each admin route, so no path spelling can reach a handler without them.
  const adminGuards = [
    ...origin,
    adminGuard({ host: options.host, adminToken: options.adminToken }),
    ...body,
  ];
  app.use(createAdminRouter(proxy, httpLog, adminGuards));
  const access = { host: options.host, adminToken: options.adminToken };
  app.use(createStatusPage(proxy, { guards: adminGuards, access, sessionCounts: () => sessions.counts() }));

  app.use((req, res) => {
    sendError(res, 404, `no route for ${req.method} ${req.path}; routes: ${ROUTES.join(', ')}`);
  });
  app.use(bodyErrors(options.maxBodyBytes, httpLog));

  const server = createServer(app);
  server.on('clientError', (error, socket) => {
    httpLog.debug('http client error', { error: errorMessage(error) });
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await sessions.closeAll();
    await mcp.close().catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE'
        ? ': the port is in use; stop the other process or choose another with --port'
        : code === 'EADDRNOTAVAIL'
          ? ': no network interface has this address; check --host'
          : code === 'EACCES'
            ? ': not permitted; ports below 1024 need privileges, choose another with --port'
            : '';
    throw new Error(`cannot listen on ${options.host}:${options.port}: ${errorMessage(error)}${hint}`, {
      cause: error,
    });
  }
  server.on('error', (error) => httpLog.error('http server error', { error: errorMessage(error) }));
  const { port } = server.address() as AddressInfo;
  const hostForUrl =
    options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await sessions.closeAll();
      await mcp
        .close()
        .catch((error: unknown) => httpLog.debug('mcp handler close failed', { error: errorMessage(error) }));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
        timer.unref();
      });
      const idle = new Promise<void>((resolve) => {
        drained = resolve;
        if (inFlight === 0) resolve();
      });
      await Promise.race([stopped, idle, grace]);
      clearTimeout(timer);
      // Keep-alive and never-used sockets hold server.close() open; a stuck stream is cut after the grace.
      server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };

  return {
    url: `http://${hostForUrl}:${port}`,
    stopAdmitting: () => sessions.stopAdmitting(),
    callsInFlight: () => calls,
    close,
  };
}
