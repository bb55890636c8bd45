import type { RequestHandler } from 'express';
import type { Proxy } from '../proxy.js';

/** Liveness: the process is serving HTTP. Never depends on backends, so it never flaps with them. */
export const healthz: RequestHandler = (_req, res) => {
  res.json({ status: 'ok' });
};

/**
 * Readiness: the startup backends have settled (connected or failed), so lists are complete.
 * A failed backend does not make the proxy unready: it serves the healthy ones. Once shutdown has
 * begun it fails at once, so the Service stops sending new clients here while in-flight calls finish.
 */
export function readyz(proxy: Proxy): RequestHandler {
  return (_req, res) => {
    const backends = Object.fromEntries(proxy.registry.backends().map((b) => [b.name, b.state]));
    if (proxy.isDraining()) {
      res.status(503).json({
        status: 'draining',
        error: 'multi-mcp is shutting down: draining calls in flight, accepting no new sessions',
        backends,
      });
      return;
    }
    const ready = proxy.isReady();
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'starting',
      ...(!ready && { error: 'startup backends are still connecting; lists would be incomplete' }),
      backends,
    });
  };
}
