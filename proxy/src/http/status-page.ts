import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { RequestHandler } from 'express';
import type { Proxy } from '../proxy.js';
import type { AdminAccessOptions } from './guards.js';
import { checkAdminAccess } from './guards.js';
import { sendError } from './respond.js';
import { PAGE_SCRIPT, PAGE_STYLE, STATUS_JSON_PATH, pageHtml } from './status-page-assets.js';
import type { SummaryInputs } from './status-summary.js';
import { statusSummary } from './status-summary.js';

export const STATUS_PAGE_PATHS = ['/', '/ui'];

export interface StatusPageOptions extends Partial<SummaryInputs> {
  /** The admin API's guards: the data goes through exactly these. */
  guards: RequestHandler[];
  /** The admin API's access rule, to decide whether the (data-free) page itself may load. */
  access: AdminAccessOptions;
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

// Only this page's own inline style and script run, and it talks to nothing but this listener.
const CSP = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * `GET /` and `/ui`: the status page; `GET /ui/status.json`: what it shows. The JSON carries
 * the admin API's guards, so it is protected exactly like the admin API. The page holds no data,
 * so with an admin token configured it still loads without one and asks for it (a browser cannot
 * attach a bearer token to a navigation); beyond loopback without a token it is refused like
 * the admin API.
 */
export function createStatusPage(proxy: Proxy, options: StatusPageOptions): Router {
  const router = Router();
  const inputs: SummaryInputs = {
    startedAt: options.startedAt ?? new Date(),
    ...(options.sessionCounts && { sessionCounts: options.sessionCounts }),
  };
  const html = pageHtml();

  router.get(STATUS_PAGE_PATHS, (req, res) => {
    const refusal = checkAdminAccess(options.access, req.headers.authorization);
    if (refusal?.status === 403) return sendError(res, 403, refusal.error);
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(html);
  });

  router.get(STATUS_JSON_PATH, ...options.guards, (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(statusSummary(proxy, inputs));
  });

  return router;
}
