import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's metrics, on their own registry (nothing global). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'multi_mcp_operator_' });
  const reconciles = new Counter({
    name: 'multi_mcp_operator_reconciles_total',
    help: 'reconcile(key) runs by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const reconcileSeconds = new Histogram({
    name: 'multi_mcp_operator_reconcile_duration_seconds',
    help: 'time one reconcile(key) took',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const adminRequests = new Counter({
    name: 'multi_mcp_operator_admin_requests_total',
    help: 'calls to the proxies’ admin API by method',
    labelNames: ['method'] as const,
    registers: [registry],
  });
  const statusWrites = new Counter({
    name: 'multi_mcp_operator_status_writes_total',
    help: 'McpServer status patches sent (a reconcile that finds the status unchanged sends none)',
    registers: [registry],
  });
  const replicas = new Gauge({
    name: 'multi_mcp_operator_proxy_replicas',
    help: 'ready proxy replicas',
    registers: [registry],
  });
  const mcpServers = new Gauge({
    name: 'multi_mcp_operator_mcpservers',
    help: 'McpServers in the cache',
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'multi_mcp_operator_queue_depth',
    help: 'keys waiting or running',
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'multi_mcp_operator_leader',
    help: '1 while this process leads',
    registers: [registry],
  });
  return {
    registry,
    reconciles,
    reconcileSeconds,
    adminRequests,
    statusWrites,
    replicas,
    mcpServers,
    queueDepth,
    leader,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
