import type { Express, RequestHandler, Response } from 'express';
import { missingClaims } from '../config/virtual.js';
import type { VirtualServerSpec } from '../config/virtual.js';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Proxy } from '../proxy.js';
import type { McpRoute, McpRouteOptions } from './mcp.js';
import { createMcpRoute } from './mcp.js';
import type { ResourceServer } from './oauth.js';
import { VIRTUAL_SERVER_LOCAL } from './metrics.js';
import { oauthGuard, tokenOf } from './oauth.js';
import { requestId, RpcCode, sendRpcError } from './respond.js';
import type { SseRoutes } from './sse.js';
import { createSseRoutes } from './sse.js';

export interface VirtualRouteOptions {
  proxy: Proxy;
  log: Logger;
  /** What every MCP route gets: the shared session table, limits, the seal. */
  mcp: Omit<McpRouteOptions, 'view' | 'log' | 'gateway'>;
  /** Origin checks, run before the OAuth guard and the virtual server's own requirements. */
  origin: RequestHandler[];
  body: RequestHandler[];
  resourceServer: ResourceServer | undefined;
}

export interface VirtualRoutes {
  /** The chains `POST /mcp/:name` and `/messages/:name` run (mounted, and run by hot-route.ts). */
  mcpChain: RequestHandler[];
  messagesChain: RequestHandler[];
  close(): Promise<void>;
}

export const VIRTUAL_ROUTES = [
  'POST|GET|DELETE /mcp/{virtual}',
  'GET /sse/{virtual}',
  'POST /messages/{virtual}',
];

/** Why `spec` does not admit this request, or undefined when it does. */
function refusal(
  name: string,
  spec: VirtualServerSpec,
  res: Response,
  resourceServer: ResourceServer | undefined,
): { status: number; message: string; challenge?: string } | undefined {
  const scopes = spec.scopes ?? [];
  const claims = Object.keys(spec.claims ?? {});
  if (scopes.length === 0 && claims.length === 0) return undefined;
  const token = tokenOf(res);
  if (!resourceServer || !token) {
    // Fail closed: requirements nobody can check admit nobody.
    return {
      status: 403,
      message: `virtual server "${name}" requires an OAuth access token (scopes or claims), but OAuth is off on this proxy; start it with --oauth-issuer and --oauth-audience`,
    };
  }
  const missing = scopes.filter((scope) => !token.scopes.has(scope));
  if (missing.length > 0) {
    const { challenge, message } = resourceServer.insufficientScope(
      scopes,
      missing,
      resourceServer.viewMetadataUrl(name),
    );
    return { status: 403, challenge, message: `virtual server "${name}": ${message}` };
  }
  const unmatched = missingClaims(spec, token.claims);
  if (unmatched.length > 0) {
    const wanted = unmatched.map((claim) => `${claim} must be ${JSON.stringify(spec.claims?.[claim])}`);
    return {
      status: 403,
      message: `virtual server "${name}": the access token's claims do not admit it (${wanted.join('; ')})`,
    };
  }
  return undefined;
}

/**
 * RFC 9728 metadata of a virtual server's endpoint (`/.well-known/oauth-protected-resource/mcp/<name>`):
 * `scopes_supported` names what a token needs there (`--oauth-scopes` and the view's own), so a
 * client asks its authorization server for those. An undefined name has none (404).
 */
export function virtualResourceMetadata(proxy: Proxy, resourceServer: ResourceServer): RequestHandler {
  return (req, res) => {
    const name = String(req.params['name'] ?? '');
    const entry = proxy.virtualServers.get(name);
    if (!entry) {
      res.status(404).json({ error: `no virtual server named "${name}"` });
      return;
    }
    res.setHeader('Cache-Control', 'max-age=300');
    res.json(resourceServer.metadataWith(entry.spec.scopes ?? []));
  };
}

/**
 * Scopes the whole catalog's endpoints (/mcp, /sse, /messages) need beyond `--oauth-scopes`
 * (`--oauth-catalog-scopes`): without them a token that only a virtual server asks nothing more of
 * would still see everything at /mcp. Runs after the OAuth guard.
 */
export function catalogScopeGuard(
  resourceServer: ResourceServer,
  scopes: readonly string[],
  log: Logger,
): RequestHandler {
  return (req, res, next) => {
    const granted = tokenOf(res)?.scopes ?? new Set<string>();
    const missing = scopes.filter((scope) => !granted.has(scope));
    if (missing.length === 0) {
      next();
      return;
    }
    const { challenge, message } = resourceServer.insufficientScope(scopes, missing);
    log.info('mcp request refused: whole-catalog scopes', { [Field.error]: message });
    res.setHeader('WWW-Authenticate', challenge);
    sendRpcError(
      res,
      403,
      RpcCode.refused,
      `the whole catalog: ${message}; a virtual server's endpoint (/mcp/<name>) may admit this token`,
      requestId(req.body),
    );
  };
}

/**
 * A virtual server's endpoints: /mcp/<name> (Streamable HTTP, both eras), /sse/<name> with
 * /messages/<name> (legacy SSE). Each request is checked against the virtual server's
 * requirements after the OAuth guard and before any MCP handling (every request, not just the
 * first of a session: a token that lost a scope loses the view), then served by that view's
 * own routes, created on first use and closed when the virtual server is removed.
 */
export function mountVirtualServers(app: Express, options: VirtualRouteOptions): VirtualRoutes {
  const { proxy } = options;
  const log = options.log.with({ component: 'virtual-servers' });
  const routes = new Map<string, { mcp: McpRoute; sse: SseRoutes }>();

  const routesOf = (name: string): { mcp: McpRoute; sse: SseRoutes } => {
    let found = routes.get(name);
    if (!found) {
      found = {
        mcp: createMcpRoute({ ...options.mcp, gateway: proxy.gateway, log, view: name }),
        sse: createSseRoutes({
          gateway: proxy.gateway,
          sessions: options.mcp.sessions,
          log,
          messagesPath: `/messages/${name}`,
          view: name,
        }),
      };
      routes.set(name, found);
    }
    return found;
  };

  // A removed virtual server's sessions are refused at their next request (404 below, like any
  // unknown name); its stateless handler and listen streams end now.
  const detach = proxy.virtualServers.onChange(() => {
    for (const [name, route] of routes) {
      if (proxy.virtualServers.get(name)) continue;
      routes.delete(name);
      void route.mcp.close().catch(() => {});
    }
  });

  // Before the OAuth guard, so refusals are counted per view too (metrics.ts); defined names only.
  const label: RequestHandler = (req, res, next) => {
    const name = String(req.params['name'] ?? '');
    if (proxy.virtualServers.get(name)) res.locals[VIRTUAL_SERVER_LOCAL] = name;
    next();
  };
  const access: RequestHandler = (req, res, next) => {
    const name = String(req.params['name'] ?? '');
    const entry = proxy.virtualServers.get(name);
    if (!entry) {
      sendRpcError(
        res,
        404,
        RpcCode.refused,
        `no virtual server named "${name}" (MCP is served at /mcp, and at /mcp/<name> for each defined virtual server)`,
        requestId(req.body),
      );
      return;
    }
    const refused = refusal(name, entry.spec, res, options.resourceServer);
    if (refused) {
      log.info('mcp request refused: virtual server requirements', {
        virtualServer: name,
        [Field.error]: refused.message,
      });
      if (refused.challenge) res.setHeader('WWW-Authenticate', refused.challenge);
      sendRpcError(res, refused.status, RpcCode.refused, refused.message, requestId(req.body));
      return;
    }
    res.locals[VIRTUAL_SERVER_LOCAL] = name;
    next();
  };
  const nameOf = (res: Response): string => res.locals[VIRTUAL_SERVER_LOCAL] as string;
  // A refused token at a defined virtual server is pointed at that view's metadata (its scopes).
  const resourceServer = options.resourceServer;
  const auth: RequestHandler[] = resourceServer
    ? [
        oauthGuard(resourceServer, options.log, (req) => {
          const name = String(req.params['name'] ?? '');
          return proxy.virtualServers.get(name) ? resourceServer.viewMetadataUrl(name) : undefined;
        }),
      ]
    : [];

  // Exposed so the hot routes (hot-route.ts) run exactly these chains without the router.
  const mcpChain: RequestHandler[] = [
    label,
    ...options.origin,
    ...auth,
    access,
    ...options.body,
    (req, res, next) => routesOf(nameOf(res)).mcp.handle(req, res, next),
  ];
  app.all('/mcp/:name', ...mcpChain);
  app.get('/sse/:name', label, ...options.origin, ...auth, access, (req, res, next) =>
    routesOf(nameOf(res)).sse.stream(req, res, next),
  );
  const messagesChain: RequestHandler[] = [
    label,
    ...options.origin,
    ...auth,
    access,
    ...options.body,
    (req, res, next) => routesOf(nameOf(res)).sse.messages(req, res, next),
  ];
  app.all('/messages/:name', ...messagesChain);

  return {
    mcpChain,
    messagesChain,
    close: async () => {
      detach();
      await Promise.all([...routes.values()].map((route) => route.mcp.close().catch(() => {})));
      routes.clear();
    },
  };
}
