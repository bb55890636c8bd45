export * from './mcpserver.js';
export { mcpServerCrd, openApiSchema } from './crd.js';
export type { CelRule } from './cel.js';
