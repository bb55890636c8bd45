/**
 * @multi-mcp/operator — reconciles McpServer resources into every multi-mcp proxy replica.
 *
 * Public surface: the McpServer contract (also `@multi-mcp/operator/api`) and the controller's
 * composition pieces, for embedding and tests.
 */

/** The operator's version, reported by `multi-mcp-operator` and in its logs. */
export const VERSION = '0.1.0';

export * from './api/index.js';
export { createController, FIELD_MANAGER } from './controller/controller.js';
export type { Controller, ControllerOptions } from './controller/controller.js';
export { backendNameFor, backendSpecFor } from './controller/backend.js';
export { createAdminClient } from './proxyclient/admin.js';
export type { AdminClient } from './proxyclient/admin.js';
