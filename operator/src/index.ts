/**
 * @multi-mcp/operator — reconciles McpServer resources into every multi-mcp proxy replica.
 *
 * Public surface: only what is exported here. The controller (api/ → controller/ → proxyclient/)
 * is not written yet; its issue adds the McpServer schema and the reconcile entry points here.
 */

/** The operator's version, reported by `multi-mcp-operator` and, later, in its metrics. */
export const VERSION = '0.1.0';
