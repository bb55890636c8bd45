import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';

// POST /mcp and POST /mcp/<name> carry nearly every MCP request (POST /messages and
// /messages/<name> every legacy SSE one). Express would dispatch each through its application
// and router: a final handler, the router's layer walk and path matching, per request. These are
// answered in front of the app instead, running the same handlers in the same order. Nothing is
// skipped: the request and response get what Express gives every request (its prototypes,
// `locals`, the circular references, the router's `baseUrl`/`originalUrl`), the app-wide
// middleware runs first (metrics), then the chain the router holds for the route (guards, OAuth,
// body limits, the handler), and errors go to the app's error handler.

/** The route pattern a hot request is counted under (read by the metrics middleware). */
export const HOT_ROUTE = 'hotRoute';

const VIRTUAL = /^\/(mcp|messages)\/([A-Za-z0-9_-]+)$/;

export interface HotRoutes {
  /** The chain of `POST /mcp`, as the router holds it after the app-wide guards. */
  whole: RequestHandler[];
  /** The chain of `POST /mcp/:name`. */
  virtual: RequestHandler[];
  /** The chains of `POST /messages` and `POST /messages/:name` (legacy SSE). */
  messages: RequestHandler[];
  virtualMessages: RequestHandler[];
  /** The app's error handler (what the router would call with an error). */
  onError: ErrorRequestHandler;
}

export interface HotRouteOptions {
  /** The middleware the app runs before any route (`app.use`), in order. */
  appWide: RequestHandler[];
  routes: HotRoutes;
  /** Answers a request whose chain passed it on (the chains end in MCP handlers, which never do). */
  unanswered: RequestHandler;
}

/** The request as the router sees it: its chain, the pattern it is counted under, route params. */
function hotChain(
  routes: HotRoutes,
  req: IncomingMessage,
): { chain: RequestHandler[]; pattern: string; params?: { name: string } } | undefined {
  if (req.method !== 'POST') return undefined;
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path === '/mcp') return { chain: routes.whole, pattern: path };
  if (path === '/messages') return { chain: routes.messages, pattern: path };
  const match = VIRTUAL.exec(path);
  const name = match?.[2];
  if (name === undefined) return undefined;
  const mcp = match?.[1] === 'mcp';
  return {
    chain: mcp ? routes.virtual : routes.virtualMessages,
    pattern: mcp ? '/mcp/:name' : '/messages/:name',
    params: { name },
  };
}

/** The app as a request listener, with the hot routes answered in front of its router. */
export function withHotRoutes(app: Express, options: HotRouteOptions): RequestListener {
  // Each chain with the app-wide middleware in front, built once: the routes are fixed by now.
  const withAppWide = (chain: RequestHandler[]): RequestHandler[] => [...options.appWide, ...chain];
  const routes: HotRoutes = {
    whole: withAppWide(options.routes.whole),
    virtual: withAppWide(options.routes.virtual),
    messages: withAppWide(options.routes.messages),
    virtualMessages: withAppWide(options.routes.virtualMessages),
    onError: options.routes.onError,
  };
  const run = (handlers: RequestHandler[], req: Request, res: Response): void => {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== 'route' && error !== 'router') {
        routes.onError(error, req, res, () => options.unanswered(req, res, () => {}));
        return;
      }
      const handler = error === undefined ? handlers[index++] : undefined;
      if (!handler) return void options.unanswered(req, res, () => {});
      try {
        // Express 5 sends a rejected handler's error to the error handler: so does this.
        const returned: unknown = handler(req, res, next);
        if (returned instanceof Promise) returned.catch(next);
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const hot = hotChain(routes, req);
    if (!hot) return app(req, res);
    // What app.handle and the router do for every request, so every handler finds what it expects.
    const request = Object.setPrototypeOf(req, app.request) as Request;
    const response = Object.setPrototypeOf(res, app.response) as Response;
    request.res = response;
    response.req = request;
    response.locals = Object.create(null) as Response['locals'];
    response.locals[HOT_ROUTE] = hot.pattern;
    request.baseUrl = '';
    request.originalUrl = req.url ?? '';
    request.params = hot.params ?? {};
    run(hot.chain, request, response);
  };
}
