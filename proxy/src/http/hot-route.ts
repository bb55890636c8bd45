import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';

// POST /mcp and POST /mcp/<name> carry nearly every MCP request (POST /messages and
// /messages/<name> every legacy SSE one). Express finds their handlers by
// walking its router (every layer's path match, per request); this runs the same handlers, in the
// same order, straight away. Nothing is skipped: the chains are the ones the router holds for
// those routes (guards, OAuth, body limits, the handler), errors go to the same error handler,
// and the metrics middleware (which runs before this) labels the request with the same route.

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

/**
 * Express-compatible middleware, mounted first: runs a hot route's chain itself and passes every
 * other request (other methods, paths, spellings that need the router's matching) on unchanged.
 */
export function hotMcpRoutes(routes: HotRoutes): RequestHandler {
  const run = (handlers: RequestHandler[], req: Request, res: Response, outer: NextFunction): void => {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== 'route' && error !== 'router') {
        routes.onError(error, req, res, outer);
        return;
      }
      const handler = handlers[index++];
      // The chains end in MCP handlers, which answer every request; were one to pass on, the
      // router would go on from this middleware.
      if (!handler || error !== undefined) return outer();
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

  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const url = req.url;
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path === '/mcp' || path === '/messages') {
      res.locals[HOT_ROUTE] = path;
      return run(path === '/mcp' ? routes.whole : routes.messages, req, res, next);
    }
    const match = VIRTUAL.exec(path);
    const name = match?.[2];
    if (name === undefined) return next();
    res.locals[HOT_ROUTE] = `/${match?.[1]}/:name`;
    req.params = { name };
    run(match?.[1] === 'mcp' ? routes.virtual : routes.virtualMessages, req, res, next);
  };
}
