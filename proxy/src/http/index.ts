// Public surface of the HTTP front door.
export { startHttpFrontDoor } from './server.js';
export type { HttpFrontDoor, HttpOptions } from './server.js';
export { checkAdminAccess, checkAdminExposure, isLoopbackHost, originAllowed } from './guards.js';
export type { AdminAccessOptions, Refusal } from './guards.js';
export { createSessionSeal, loadSessionSeal, parseSessionKeys, SessionKeyError } from './seal.js';
export type { SealedHandshake, SessionSeal } from './seal.js';
export { fixedToken, parseTokenFile, watchTokenFile } from './admin-token.js';
export type { AdminTokenSource, AdminTokenState, WatchedToken } from './admin-token.js';
export { allowCommands } from './allow-command.js';
export type { CommandPolicy } from './allow-command.js';
