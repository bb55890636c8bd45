/**
 * Latency histograms kept as plain numbers and written in the Prometheus text format at scrape
 * time. Recording through prom-client hashes the label set on every observation; on paths that
 * every request takes, a map lookup of a series kept here and a short scan of its bounds is all.
 */
export interface Histogram {
  /** `buckets[i]` counts observations ≤ bounds[i] and above the bound before; the last slot is +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

export function emptyHistogram(bounds: readonly number[]): Histogram {
  return { buckets: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

export function observe(histogram: Histogram, bounds: readonly number[], seconds: number): void {
  let slot = 0;
  while (slot < bounds.length && seconds > bounds[slot]!) slot++;
  histogram.buckets[slot]!++;
  histogram.sum += seconds;
  histogram.count++;
}

/** A label value escaped for the text format. */
export function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The `_bucket` (cumulative), `_sum` and `_count` lines of one series; `labels` is `a="x",b="y"`. */
export function histogramLines(
  name: string,
  labels: string,
  histogram: Histogram,
  bounds: readonly number[],
): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  bounds.forEach((bound, i) => {
    cumulative += histogram.buckets[i] ?? 0;
    lines.push(`${name}_bucket{${labels},le="${bound}"} ${cumulative}`);
  });
  lines.push(`${name}_bucket{${labels},le="+Inf"} ${histogram.count}`);
  lines.push(`${name}_sum{${labels}} ${histogram.sum}`);
  lines.push(`${name}_count{${labels}} ${histogram.count}`);
  return lines;
}
