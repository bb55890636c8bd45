import type { RequestHandler } from 'express';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Proxy } from '../proxy.js';
import type { BackendState } from '../registry/backend.js';
import type { Histogram } from '../histogram.js';
import { emptyHistogram, histogramLines, labelValue, observe } from '../histogram.js';
import { HOT_ROUTE } from './hot-route.js';
import type { RestoreMetrics } from './restore.js';
import { RESTORE_FAILURES } from './restore.js';
import { renderRelayMetrics } from './relay-metrics.js';

const HTTP_REQUESTS = 'multi_mcp_http_requests_total';
const HTTP_DURATION = 'multi_mcp_http_request_duration_seconds';
const HTTP_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** One route, method and status: a count (the histogram's) and the durations. */
interface HttpSeries extends Histogram {
  route: string;
  method: string;
  status: string;
}

function renderHttpMetrics(all: Iterable<HttpSeries>): string {
  const counts = [
    `# HELP ${HTTP_REQUESTS} HTTP requests by route, method and status`,
    `# TYPE ${HTTP_REQUESTS} counter`,
  ];
  const durations = [
    `# HELP ${HTTP_DURATION} HTTP request duration by route (streams count until they close)`,
    `# TYPE ${HTTP_DURATION} histogram`,
  ];
  for (const series of all) {
    // The route is a pattern (never a path a client chose), which keeps the label set bounded.
    const labels = `route="${labelValue(series.route)}",method="${labelValue(series.method)}",status="${series.status}"`;
    counts.push(`${HTTP_REQUESTS}{${labels}} ${series.count}`);
    durations.push(...histogramLines(HTTP_DURATION, labels, series, HTTP_DURATION_BUCKETS));
  }
  return `${counts.join('\n')}\n\n${durations.join('\n')}\n`;
}
import type { HttpSessions } from './sessions.js';
import { HTTP_SESSION_KINDS } from './sessions.js';

/**
 * Where a virtual server's routes put its name (only a defined one) for the request counters.
 * The method label is bounded too: Node's parser accepts only known HTTP methods.
 */
export const VIRTUAL_SERVER_LOCAL = 'virtualServer';

const BACKEND_STATES: readonly BackendState[] = ['connecting', 'ready', 'failed', 'stopped'];

export interface FrontDoorMetrics {
  /** Counts every request by route and status when its response finishes. */
  middleware: RequestHandler;
  /** GET /metrics: Prometheus text. */
  scrape: RequestHandler;
  /** Counts sessions restored from sealed ids, and ids that could not be. */
  restores: RestoreMetrics;
}

/**
 * One registry per front door, never prom-client's global one, so several front doors (tests)
 * never collide. Backend and session gauges are read at scrape time from the live objects,
 * so they cannot drift from what the admin API shows.
 */
export function createMetrics(proxy: Proxy, sessions: HttpSessions): FrontDoorMetrics {
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'multi_mcp_backends',
    help: 'Backends by state',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = new Map<string, number>(BACKEND_STATES.map((state) => [state, 0]));
      for (const backend of proxy.registry.backends())
        counts.set(backend.state, (counts.get(backend.state) ?? 0) + 1);
      for (const [state, count] of counts) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'multi_mcp_backend_up',
    help: '1 when the backend is connected and serving, else 0',
    labelNames: ['backend'],
    registers,
    collect() {
      this.reset();
      for (const backend of proxy.registry.backends())
        this.set({ backend: backend.name }, backend.state === 'ready' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'multi_mcp_backend_tools',
    help: 'Tools the backend contributes to the catalog (after filters and collisions)',
    labelNames: ['backend'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>(proxy.registry.backends().map((b) => [b.name, 0]));
      for (const route of proxy.catalog.current().toolRoutes.values()) {
        counts.set(route.backend, (counts.get(route.backend) ?? 0) + 1);
      }
      for (const [backend, count] of counts) this.set({ backend }, count);
    },
  });
  new Counter({
    name: 'multi_mcp_tool_drifts_total',
    help: 'Tool definitions found changed from their pin (each quarantines the tool until approved), per backend',
    labelNames: ['backend'],
    registers,
    collect() {
      // Counted by the pin book, which outlives any one front door; mirrored here at scrape time.
      this.reset();
      for (const [backend, count] of proxy.pins.drifts()) this.inc({ backend }, count);
    },
  });
  new Gauge({
    name: 'multi_mcp_tools_withheld',
    help: 'Tools not listed because of pins: reason="drifted" (definition changed) or "held" (no pin, --pin-policy strict)',
    labelNames: ['backend', 'reason'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, { backend: string; reason: string; n: number }>();
      for (const entry of proxy.catalog.withheld()) {
        const key = `${entry.backend}\0${entry.state}`;
        const held = counts.get(key) ?? { backend: entry.backend, reason: entry.state, n: 0 };
        held.n++;
        counts.set(key, held);
      }
      for (const { backend, reason, n } of counts.values()) this.set({ backend, reason }, n);
    },
  });
  // A gauge, not a counter: the value comes from the backend, and resets when it is re-registered.
  new Gauge({
    name: 'multi_mcp_backend_restarts_total',
    help: 'Reconnect attempts after failures, per backend',
    labelNames: ['backend'],
    registers,
    collect() {
      this.reset();
      for (const backend of proxy.registry.backends()) this.set({ backend: backend.name }, backend.restarts);
    },
  });
  new Gauge({
    name: 'multi_mcp_sessions',
    help: 'Open HTTP client sessions by transport',
    labelNames: ['kind'],
    registers,
    collect() {
      const counts = sessions.counts();
      for (const kind of HTTP_SESSION_KINDS) this.set({ kind }, counts[kind]);
    },
  });

  // Counted by the objects that own them (sessions, the config watcher); read at scrape time.
  new Counter({
    name: 'multi_mcp_sessions_evicted_total',
    help: 'Idle sessions closed to admit a new client into a full session table',
    registers,
    collect() {
      this.reset();
      this.inc(sessions.evicted);
    },
  });
  new Counter({
    name: 'multi_mcp_config_reloads_total',
    help: 'Reloads of the config file after it changed, by outcome (failed: rejected, running state kept)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      for (const [outcome, count] of Object.entries(proxy.configReloads)) this.inc({ outcome }, count);
    },
  });
  new Gauge({
    name: 'multi_mcp_draining',
    help: '1 once shutdown has begun (readiness fails, new sessions are refused), else 0',
    registers,
    collect() {
      this.set(proxy.isDraining() ? 1 : 0);
    },
  });

  // Every HTTP request passes here: counted as plain numbers (histogram.ts), written at scrape.
  const requests = new Map<string, HttpSeries>();
  // Per virtual server: counted as plain numbers and exported at scrape time for the names still
  // defined, so a removed view's series go with it and no request can mint a label value.
  const viewRequests = new Map<string, { view: string; method: string; status: string; n: number }>();
  new Counter({
    name: 'multi_mcp_virtual_server_http_requests_total',
    help: 'HTTP requests at a virtual server’s endpoints (/mcp/<name>, /sse/<name>, /messages/<name>), by method and status (refusals included)',
    labelNames: ['virtual_server', 'method', 'status'],
    registers,
    collect() {
      this.reset();
      for (const [key, { view, method, status, n }] of viewRequests) {
        if (proxy.virtualServers.get(view)) this.inc({ virtual_server: view, method, status }, n);
        else viewRequests.delete(key);
      }
    },
  });

  const restored = new Counter({
    name: 'multi_mcp_sessions_restored_total',
    help: 'Sessions this replica had never seen, rebuilt from their sealed session id',
    registers,
  });
  const restoreFailures = new Counter({
    name: 'multi_mcp_session_restore_failures_total',
    help:
      'Unknown session ids not restored, by reason: malformed (not a sealed id), auth_failed ' +
      '(tampered, truncated or sealed with another key), protocol_version, terminated (ended with DELETE)',
    labelNames: ['reason'],
    registers,
  });
  // Every reason is exported from the start, so a rate() over it never misses the first failure.
  for (const reason of RESTORE_FAILURES) restoreFailures.inc({ reason }, 0);

  const middleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      // The matched route pattern keeps label cardinality bounded (never the backend name in a path).
      const routePath: unknown = req.route?.path ?? res.locals[HOT_ROUTE];
      const route = typeof routePath === 'string' ? routePath : 'unmatched';
      const labels = { route, method: req.method, status: String(res.statusCode) };
      const key = `${labels.route}\0${labels.method}\0${labels.status}`;
      let series = requests.get(key);
      if (!series) {
        series = { ...labels, ...emptyHistogram(HTTP_DURATION_BUCKETS) };
        requests.set(key, series);
      }
      observe(series, HTTP_DURATION_BUCKETS, Number(process.hrtime.bigint() - started) / 1e9);
      const view: unknown = res.locals[VIRTUAL_SERVER_LOCAL];
      if (typeof view === 'string') {
        const key = `${view}\0${labels.method}\0${labels.status}`;
        const entry = viewRequests.get(key);
        if (entry) entry.n++;
        else viewRequests.set(key, { view, method: labels.method, status: labels.status, n: 1 });
      }
    });
    next();
  };

  const scrape: RequestHandler = async (_req, res) => {
    try {
      const text = await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.end(`${text}\n${renderHttpMetrics(requests.values())}\n${renderRelayMetrics(proxy.relayStats)}`);
    } catch (error) {
      res.status(500).json({
        error: `metrics collection failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  };

  return {
    middleware,
    scrape,
    restores: { restored: () => restored.inc(), failed: (reason) => restoreFailures.inc({ reason }) },
  };
}
