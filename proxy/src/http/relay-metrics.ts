import type { RelayStats } from '../gateway/relay-stats.js';
import { histogramLines, labelValue } from '../histogram.js';
import { RELAY_LATENCY_BUCKETS, RELAY_OUTCOMES } from '../gateway/relay-stats.js';

export const RELAYED_REQUESTS = 'multi_mcp_relayed_requests_total';
export const RELAY_DURATION = 'multi_mcp_relay_duration_seconds';
export const VIEW_RELAYED_REQUESTS = 'multi_mcp_virtual_server_relayed_requests_total';

/**
 * The relay counters in Prometheus text format. They are rendered here from plain numbers rather
 * than kept in prom-client metrics because recording through prom-client hashes the labels on
 * every call, on the path every relayed request takes (see gateway/relay-stats.ts). Every
 * outcome is written, zeros included, so `rate()` of a new outcome starts from a known zero.
 */
export function renderRelayMetrics(stats: RelayStats): string {
  const counts = [
    `# HELP ${RELAYED_REQUESTS} Requests relayed to backends, by backend, method and outcome`,
    `# TYPE ${RELAYED_REQUESTS} counter`,
  ];
  const latency = [
    `# HELP ${RELAY_DURATION} Time from relaying a request to its answer, per backend and method`,
    `# TYPE ${RELAY_DURATION} histogram`,
  ];
  for (const { backend, method, series } of stats.series()) {
    const labels = `backend="${labelValue(backend)}",method="${labelValue(method)}"`;
    RELAY_OUTCOMES.forEach((outcome, i) =>
      counts.push(`${RELAYED_REQUESTS}{${labels},outcome="${outcome}"} ${series.outcomes[i] ?? 0}`),
    );
    latency.push(...histogramLines(RELAY_DURATION, labels, series, RELAY_LATENCY_BUCKETS));
  }
  const views = [
    `# HELP ${VIEW_RELAYED_REQUESTS} Requests relayed for clients of a virtual server (/mcp/<name>, /sse/<name>, --virtual), by method and outcome`,
    `# TYPE ${VIEW_RELAYED_REQUESTS} counter`,
  ];
  for (const { view, method, outcomes } of stats.viewSeries()) {
    const labels = `virtual_server="${labelValue(view)}",method="${labelValue(method)}"`;
    RELAY_OUTCOMES.forEach((outcome, i) =>
      views.push(`${VIEW_RELAYED_REQUESTS}{${labels},outcome="${outcome}"} ${outcomes[i] ?? 0}`),
    );
  }
  return `${counts.join('\n')}\n\n${latency.join('\n')}\n\n${views.join('\n')}\n`;
}
