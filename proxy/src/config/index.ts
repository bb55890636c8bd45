// Public surface of the config folder. The Node-free part (schemas, types, parsing) is also published
// alone as `@multi-mcp/proxy/contract` for the operator.
export {
  BackendNameSchema,
  BackendSpecSchema,
  BackendToolsSchema,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  HttpUrlSchema,
  McpJsonSchema,
  PrefixSchema,
  RemoteBackendSchema,
  StdioBackendSchema,
  ToolFilterSchema,
  ToolPinSchema,
  VirtualServerNameSchema,
  VirtualServerSpecSchema,
  VirtualServersSchema,
  missingClaims,
  isStdioBackend,
  parseBackendSpec,
  parseMcpJson,
  specsEqual,
} from './contract.js';
export type {
  BackendSpec,
  BackendTools,
  McpJson,
  RemoteBackendSpec,
  StdioBackendSpec,
  VirtualServerSpec,
} from './contract.js';
export { ConfigError, formatPath, formatZodIssues } from './errors.js';
export { expandEnv } from './expand.js';
export { loadConfigFile, resolveDefaultConfigPath } from './load.js';
export type { LoadedConfig } from './load.js';
export { watchConfigFile } from './watch.js';
export type { ConfigWatcher, ConfigWatchOptions, ReloadOutcome } from './watch.js';
