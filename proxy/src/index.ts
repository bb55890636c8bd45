// Public surface of @multi-mcp/proxy: embed the proxy in another program. The backend
// definition contract alone is `@multi-mcp/proxy/contract` (no Node-specific imports).

export { createProxy } from './proxy.js';
export type { Proxy, ProxyOptions } from './proxy.js';
export { startHttpFrontDoor, watchTokenFile } from './http/index.js';
export type { AdminTokenSource, HttpFrontDoor, HttpOptions, WatchedToken } from './http/index.js';
export { createSessionSeal, loadSessionSeal, SessionKeyError } from './http/index.js';
export type { SessionSeal } from './http/index.js';
export { startStdioFrontDoor } from './stdio.js';
export type { StdioFrontDoor } from './stdio.js';
export { ConfigError, loadConfigFile, parseBackendSpec, parseMcpJson } from './config/index.js';
export type { BackendSpec, LoadedConfig, McpJson } from './config/index.js';
export { defaultNaming } from './catalog/names.js';
export type { NamingOptions } from './catalog/names.js';
export type { BackendState } from './registry/backend.js';
export { createLogger, silentLogger } from './log.js';
export type { Logger, LogFormat, LogLevel } from './log.js';
export { VERSION } from './version.js';
