import type { RunResult } from './worker-protocol.js';

// Latency statistics. Nearest-rank percentiles: with thousands of samples the choice of interpolation
// changes nothing visible at two decimals, and nearest-rank always reports a latency that happened.

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function summarize(
  latenciesMs: Float64Array,
  wallMs: number,
): { p50: number; p99: number; perSec: number } {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    perSec: wallMs > 0 ? (latenciesMs.length * 1000) / wallMs : Number.NaN,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Per concurrency, the median of each metric over rounds (each round a list of runs). */
export function medianRuns(rounds: RunResult[][]): RunResult[] {
  const first = rounds[0] ?? [];
  return first.map((run) => {
    const same = rounds
      .map((r) => r.find((x) => x.concurrency === run.concurrency))
      .filter((x) => x !== undefined);
    return {
      concurrency: run.concurrency,
      calls: run.calls,
      p50: median(same.map((x) => x.p50)),
      p99: median(same.map((x) => x.p99)),
      callsPerSec: median(same.map((x) => x.callsPerSec)),
    };
  });
}
