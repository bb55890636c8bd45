import type { Histogram } from '../histogram.js';
import { emptyHistogram, observe } from '../histogram.js';
import { BackendUnavailableError } from '../registry/errors.js';
import { BackendRpcError, WireClosedError, WireTimeoutError } from '../registry/wire.js';

/**
 * How a relayed request ended, as an SRE reads it: `tool_error` is a result the backend marked
 * `isError` (data, not a failure of the proxy), `protocol_error` a JSON-RPC error the backend
 * answered, `timeout` no answer in time, `unavailable` the backend was down or dropped the
 * connection, `cancelled` the client gave up first.
 */
export const RELAY_OUTCOMES = [
  'ok',
  'tool_error',
  'protocol_error',
  'timeout',
  'unavailable',
  'cancelled',
] as const;
export type RelayOutcome = (typeof RELAY_OUTCOMES)[number];

const OUTCOME_INDEX: Record<RelayOutcome, number> = {
  ok: 0,
  tool_error: 1,
  protocol_error: 2,
  timeout: 3,
  unavailable: 4,
  cancelled: 5,
};

/** Upper bounds in seconds: a loopback hop is ~0.1 ms, a slow tool a minute. */
export const RELAY_LATENCY_BUCKETS = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** One backend and method: counts per outcome and a latency histogram over RELAY_LATENCY_BUCKETS. */
export interface RelaySeries extends Histogram {
  readonly outcomes: number[];
}

export function outcomeOf(result: unknown): RelayOutcome {
  return typeof result === 'object' && result !== null && (result as { isError?: unknown }).isError === true
    ? 'tool_error'
    : 'ok';
}

export function failureOutcome(error: unknown, signal: AbortSignal): RelayOutcome {
  if (signal.aborted) return 'cancelled';
  if (error instanceof WireTimeoutError) return 'timeout';
  if (error instanceof BackendRpcError) return 'protocol_error';
  if (error instanceof BackendUnavailableError || error instanceof WireClosedError) return 'unavailable';
  // Anything else failed on the way to the backend (a write to a dead pipe): it could not serve.
  return 'unavailable';
}

/**
 * Counters for every relayed request, kept as plain numbers in nested maps so recording costs
 * two map lookups and a short scan, with no allocation and no label hashing on the hot path.
 * The metrics endpoint reads them at scrape time (see http/metrics.ts).
 */
export class RelayStats {
  private readonly byBackend = new Map<string, Map<string, RelaySeries>>();
  private readonly byView = new Map<string, Map<string, number[]>>();

  record(backend: string, method: string, outcome: RelayOutcome, seconds: number): void {
    let methods = this.byBackend.get(backend);
    if (!methods) {
      methods = new Map();
      this.byBackend.set(backend, methods);
    }
    let series = methods.get(method);
    if (!series) {
      series = { outcomes: RELAY_OUTCOMES.map(() => 0), ...emptyHistogram(RELAY_LATENCY_BUCKETS) };
      methods.set(method, series);
    }
    series.outcomes[OUTCOME_INDEX[outcome]]!++;
    observe(series, RELAY_LATENCY_BUCKETS, seconds);
  }

  /**
   * Counts a request relayed for a client of the virtual server `view` (outcomes only: the latency
   * per backend is above). Keyed by the names of defined views only, which the front door checked.
   */
  recordView(view: string, method: string, outcome: RelayOutcome): void {
    let methods = this.byView.get(view);
    if (!methods) {
      methods = new Map();
      this.byView.set(view, methods);
    }
    let outcomes = methods.get(method);
    if (!outcomes) {
      outcomes = RELAY_OUTCOMES.map(() => 0);
      methods.set(method, outcomes);
    }
    outcomes[OUTCOME_INDEX[outcome]]!++;
  }

  /** Drops the counts of virtual servers no longer defined (the metric shows defined names only). */
  retainViews(views: ReadonlySet<string>): void {
    for (const name of this.byView.keys()) if (!views.has(name)) this.byView.delete(name);
  }

  *viewSeries(): Generator<{ view: string; method: string; outcomes: readonly number[] }> {
    for (const [view, methods] of this.byView) {
      for (const [method, outcomes] of methods) yield { view, method, outcomes };
    }
  }

  /** Drops the series of backends no longer registered, so churn cannot grow the table without bound. */
  retain(backends: ReadonlySet<string>): void {
    for (const name of this.byBackend.keys()) if (!backends.has(name)) this.byBackend.delete(name);
  }

  *series(): Generator<{ backend: string; method: string; series: RelaySeries }> {
    for (const [backend, methods] of this.byBackend) {
      for (const [method, series] of methods) yield { backend, method, series };
    }
  }
}
