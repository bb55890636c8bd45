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
