export * from './mcpserver.js';
export {
  McpVirtualServerSchema,
  McpVirtualServerSpecSchema,
  McpVirtualServerStatusSchema,
  VIRTUAL_KIND,
  VIRTUAL_PLURAL,
  VIRTUAL_SHORT_NAMES,
  VIRTUAL_SINGULAR,
} from './mcpvirtualserver.js';
export type { McpVirtualServer, McpVirtualServerSpec, McpVirtualServerStatus } from './mcpvirtualserver.js';
export { mcpServerCrd, openApiSchema } from './crd.js';
export { mcpVirtualServerCrd } from './virtual-crd.js';
export type { CelRule } from './cel.js';
