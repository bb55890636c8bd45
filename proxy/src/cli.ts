#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { PinPolicy } from './catalog/pins.js';
import { PIN_POLICIES } from './catalog/pins.js';
import type { ConfigWatcher, LoadedConfig } from './config/index.js';
import { ConfigError, loadConfigFile, resolveDefaultConfigPath, watchConfigFile } from './config/index.js';
import type { WatchedToken } from './http/admin-token.js';
import { watchTokenFile } from './http/admin-token.js';
import { checkAdminExposure, isLoopbackHost, startHttpFrontDoor } from './http/index.js';
import type { OAuthSettings } from './http/oauth.js';
import { OAuthSettingsSchema } from './http/oauth.js';
import { loadSessionSeal, SessionKeyError } from './http/seal.js';
import type { LogFormat, LogLevel, Logger } from './log.js';
import { LOG_FORMATS, LOG_LEVELS, createLogger, errorMessage } from './log.js';
import { DEFAULT_INPUT_TIMEOUT_MS } from './gateway/gateway.js';
import type { Proxy } from './proxy.js';
import { createProxy } from './proxy.js';
import { killAllProcessTreesNow } from './registry/processes.js';
import { createShutdown } from './shutdown.js';
import { startStdioFrontDoor } from './stdio.js';
import { VERSION } from './version.js';

/** The owner name of backends that come from the config file (the admin API's are `api`). */
const FILE_OWNER = 'file';
const SHIPPED_EXAMPLE = fileURLToPath(new URL('../../config/examples/mcp.json', import.meta.url));

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got "${value}".`);
    }
    return parsed;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const program = new Command('multi-mcp')
  .description('One MCP endpoint in front of many MCP servers.')
  .version(VERSION)
  .addOption(
    new Option('-t, --transport <mode>', 'how clients connect: stdio, or http (sse is the same as http)')
      .choices(['stdio', 'sse', 'http'])
      .default('stdio'),
  )
  .option('--host <address>', 'address the HTTP front door binds to', '127.0.0.1')
  .option(
    '-p, --port <number>',
    'port of the HTTP front door (0 = any free port)',
    integer('--port', 0, 65535),
    8080,
  )
  .option(
    '--admin-port <number>',
    'serve the admin API and /metrics on their own listener at this port (0 = any free port), not on --port',
    integer('--admin-port', 0, 65535),
  )
  .option('--admin-host <address>', 'address the admin listener binds to (with --admin-port)', '127.0.0.1')
  .option(
    '-c, --config <path>',
    'mcp.json (or .yaml) with the backends; default ./mcp.json, else the shipped example',
  )
  .option('--separator <text>', 'between prefix and name in exposed names', '__')
  .option(
    '--max-name-length <n>',
    'longer exposed names are shortened with a hash',
    integer('--max-name-length', 8, 1024),
    64,
  )
  .addOption(
    new Option('--log-level <level>', 'log verbosity (logs go to stderr)')
      .choices(LOG_LEVELS)
      .default('info'),
  )
  .addOption(
    new Option('--log-format <format>', 'text for terminals, json (one object a line) for log collectors')
      .choices(LOG_FORMATS)
      .default('text'),
  )
  .addOption(
    new Option(
      '--admin-token <token>',
      'bearer token for the admin API (required to serve it beyond loopback)',
    ).env('MULTI_MCP_ADMIN_TOKEN'),
  )
  .addOption(
    new Option(
      '--admin-token-file <path>',
      'file holding the admin bearer token (a mounted Secret), re-read when it changes',
    )
      .env('MULTI_MCP_ADMIN_TOKEN_FILE')
      .conflicts('adminToken'),
  )
  .option(
    '--allow-command <glob>',
    'stdio command the admin API may start (repeatable; default: any); config-file commands are not restricted',
    collect,
    [],
  )
  .option(
    '--allow-origin <origin>',
    'extra browser Origin allowed on the MCP and admin routes (repeatable)',
    collect,
    [],
  )
  .option(
    '--max-sessions <n>',
    'cap on concurrent HTTP client sessions (and 2026-era listen streams)',
    integer('--max-sessions', 1, 1_000_000),
    1000,
  )
  .option(
    '--session-idle-ms <ms>',
    'close HTTP sessions with no request or stream open for this long',
    integer('--session-idle-ms', 1000, 86_400_000),
    30 * 60_000,
  )
  .option(
    '--max-body-bytes <n>',
    'largest accepted HTTP request body',
    integer('--max-body-bytes', 1024, 1 << 30),
    4 << 20,
  )
  .option(
    '--session-key-file <path>',
    'key shared by all replicas: 2025-era session ids are sealed with it, so any replica serves any session',
  )
  .option(
    '--oauth-issuer <url>',
    'OAuth authorization server whose JWT access tokens the MCP routes accept (repeatable; turns OAuth on)',
    collect,
    [],
  )
  .option(
    '--oauth-audience <url>',
    "this MCP endpoint's canonical URL: tokens must carry it in aud (RFC 8707)",
  )
  .option(
    '--oauth-jwks-url <url>',
    "the issuers' signing keys (default: jwks_uri from each issuer's metadata)",
  )
  .option('--oauth-scopes <scope>', 'scope every MCP request’s token must carry (repeatable)', collect, [])
  .option(
    '--oauth-catalog-scopes <scope>',
    'scope a token needs for the whole catalog (/mcp, /sse) on top of --oauth-scopes; virtual servers ask their own (repeatable)',
    collect,
    [],
  )
  .option(
    '--oauth-clock-tolerance-sec <s>',
    'leeway for exp/nbf against clock skew',
    integer('--oauth-clock-tolerance-sec', 0, 300),
    5,
  )
  .option(
    '--oauth-jwks-cooldown-ms <ms>',
    'after a key set fetch, how long a token with an unknown key id waits for the next one',
    integer('--oauth-jwks-cooldown-ms', 0, 3_600_000),
    30_000,
  )
  .addOption(
    new Option(
      '--pin-policy <policy>',
      'tools without a pin: off lists them, first-seen pins the definition first seen, strict holds them back',
    )
      .choices(PIN_POLICIES)
      .default('off'),
  )
  .option(
    '--state-dir <dir>',
    'where first-seen and approved pins are kept across restarts (<dir>/pins/<backend>.json)',
  )
  .option(
    '--virtual <name>',
    'stdio mode: serve only this virtual server of the config file (its virtualServers entry)',
  )
  .option(
    '--startup-timeout-ms <ms>',
    'how long lists wait at startup for backends to connect',
    integer('--startup-timeout-ms', 0, 600_000),
    15_000,
  )
  .option(
    '--drain-timeout-ms <ms>',
    'on SIGTERM, and when a backend is removed or replaced, how long calls in flight may finish',
    integer('--drain-timeout-ms', 0, 600_000),
    10_000,
  )
  .option(
    '--input-timeout-ms <ms>',
    'how long a 2026-07-28 client has to answer an input_required round before the backend call is cancelled',
    integer('--input-timeout-ms', 100, 3_600_000),
    DEFAULT_INPUT_TIMEOUT_MS,
  )
  .option(
    '--liveness-interval-ms <ms>',
    'how often a connected server is pinged; one that does not answer is marked failed and reconnected (0 = never)',
    integer('--liveness-interval-ms', 0, 3_600_000),
    10_000,
  );

interface CliOptions {
  transport: 'stdio' | 'sse' | 'http';
  host: string;
  port: number;
  adminHost: string;
  adminPort?: number;
  config?: string;
  separator: string;
  maxNameLength: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  adminToken?: string;
  adminTokenFile?: string;
  allowCommand: string[];
  allowOrigin: string[];
  maxSessions: number;
  sessionIdleMs: number;
  maxBodyBytes: number;
  startupTimeoutMs: number;
  drainTimeoutMs: number;
  inputTimeoutMs: number;
  livenessIntervalMs: number;
  sessionKeyFile?: string;
  oauthIssuer: string[];
  oauthAudience?: string;
  oauthJwksUrl?: string;
  oauthScopes: string[];
  oauthCatalogScopes: string[];
  oauthClockToleranceSec: number;
  oauthJwksCooldownMs: number;
  pinPolicy: PinPolicy;
  stateDir?: string;
  virtual?: string;
}

/** The --oauth-* flags as settings, or undefined when OAuth is off; half a configuration is an error. */
function oauthFrom(options: CliOptions): OAuthSettings | undefined {
  const { oauthIssuer: issuers, oauthAudience: audience } = options;
  const others = options.oauthJwksUrl !== undefined || options.oauthScopes.length > 0;
  if (issuers.length === 0 && audience === undefined && !others) return undefined;
  if (issuers.length === 0 || audience === undefined) {
    throw new ConfigError('OAuth needs both --oauth-issuer and --oauth-audience', [
      issuers.length === 0
        ? '--oauth-issuer <url>: the authorization server issuing the access tokens (repeatable)'
        : '--oauth-audience <url>: the canonical URL clients use for this endpoint, e.g. https://mcp.example.com/mcp',
    ]);
  }
  const parsed = OAuthSettingsSchema.safeParse({
    issuers,
    audience,
    ...(options.oauthJwksUrl !== undefined && { jwksUrl: options.oauthJwksUrl }),
    scopes: options.oauthScopes,
    clockToleranceSec: options.oauthClockToleranceSec,
    jwksCooldownMs: options.oauthJwksCooldownMs,
  });
  if (!parsed.success) {
    throw new ConfigError(
      'invalid OAuth settings',
      parsed.error.issues.map((issue) => {
        const value = issue.path.reduce<unknown>(
          (at, key) => (at as Record<PropertyKey, unknown>)[key as PropertyKey],
          { issuers, audience, jwksUrl: options.oauthJwksUrl, scopes: options.oauthScopes },
        );
        return `${issue.message} (got ${JSON.stringify(value)})`;
      }),
    );
  }
  return parsed.data;
}

const OAUTH_FLAGS = {
  oauthIssuer: '--oauth-issuer',
  oauthAudience: '--oauth-audience',
  oauthJwksUrl: '--oauth-jwks-url',
  oauthScopes: '--oauth-scopes',
  oauthCatalogScopes: '--oauth-catalog-scopes',
  oauthClockToleranceSec: '--oauth-clock-tolerance-sec',
  oauthJwksCooldownMs: '--oauth-jwks-cooldown-ms',
} as const;

/**
 * stdio carries no access token, so OAuth flags there would protect nothing: a person who set them
 * believes the endpoint is protected. Refused rather than ignored.
 */
function refuseOAuthFlags(): void {
  const given = Object.entries(OAUTH_FLAGS)
    .filter(([key]) => program.getOptionValueSource(key) === 'cli')
    .map(([, flag]) => flag);
  if (given.length === 0) return;
  throw new ConfigError(`${given.join(', ')} cannot be used with --transport stdio`, [
    ...given.map(
      (flag) =>
        `${flag}: OAuth protects the HTTP endpoints (/mcp, /sse); a stdio client sends no access token, so there is nothing to check (use --transport http, or drop the flag)`,
    ),
  ]);
}

/** The token the admin API checks, from --admin-token-file (watched) or --admin-token. */
async function adminTokenFrom(options: CliOptions, log: Logger): Promise<WatchedToken | string | undefined> {
  if (options.adminTokenFile !== undefined) return watchTokenFile(options.adminTokenFile, { log });
  return options.adminToken || undefined;
}

async function main(log: Logger, options: CliOptions): Promise<void> {
  // A promise some library forgot to handle must not take every client's sessions down with it:
  // log it loudly and keep serving. (Uncaught exceptions still end the process: state may be broken.)
  process.on('unhandledRejection', (reason) =>
    log.error('unhandled rejection', { error: errorMessage(reason) }),
  );
  if (options.adminPort === undefined && program.getOptionValueSource('adminHost') === 'cli') {
    throw new ConfigError('--admin-host needs --admin-port', [
      '--admin-host: without --admin-port the admin API is served on the MCP listener (--host); add --admin-port <port>',
    ]);
  }

  if (options.transport === 'stdio') refuseOAuthFlags();
  const oauth = options.transport === 'stdio' ? undefined : oauthFrom(options);
  if (options.oauthCatalogScopes.length > 0 && !oauth && options.transport !== 'stdio') {
    throw new ConfigError('--oauth-catalog-scopes needs OAuth', [
      '--oauth-catalog-scopes: set --oauth-issuer and --oauth-audience too (without tokens there are no scopes to check)',
    ]);
  }
  // Read before anything starts: a bad key must stop the proxy, not surface at the first request.
  const sessionSeal =
    options.sessionKeyFile === undefined ? undefined : await loadSessionSeal(options.sessionKeyFile);

  const configPath = options.config ?? resolveDefaultConfigPath(process.cwd(), SHIPPED_EXAMPLE);
  // With no config at all (a container whose backends come from the admin API or the operator)
  // the proxy starts empty; a config that was named must exist.
  const config =
    options.config === undefined && !existsSync(configPath)
      ? { path: '(none)', backends: {}, virtualServers: {} }
      : await loadConfigFile(configPath);
  log.info('config loaded', { path: config.path, backends: Object.keys(config.backends).length });
  const adminToken = options.transport === 'stdio' ? undefined : await adminTokenFrom(options, log);
  const admin =
    options.adminPort === undefined ? undefined : { host: options.adminHost, port: options.adminPort };
  if (options.transport !== 'stdio') {
    // Checked before any backend is started (the front door checks again for embedders).
    const exposure = checkAdminExposure(admin?.host ?? options.host, adminToken !== undefined);
    if (exposure) throw exposure;
  }

  // Whatever way the process ends, no backend process tree outlives it.
  process.on('exit', killAllProcessTreesNow);
  const proxy = createProxy({
    log,
    naming: { separator: options.separator, maxLength: options.maxNameLength },
    drainMs: options.drainTimeoutMs,
    inputTimeoutMs: options.inputTimeoutMs,
    livenessIntervalMs: options.livenessIntervalMs,
    pins: { policy: options.pinPolicy, stateDir: options.stateDir },
  });
  if (options.pinPolicy === 'first-seen' && options.stateDir === undefined) {
    log.warn(
      '--pin-policy first-seen without --state-dir: pins are recorded in memory and forgotten on restart',
    );
  }
  await proxy.registry.sync(FILE_OWNER, config.backends);
  syncVirtualServers(proxy, config, log);
  if (options.virtual !== undefined) {
    if (options.transport !== 'stdio') {
      throw new ConfigError('--virtual is for stdio mode', [
        `--virtual ${options.virtual}: over HTTP every virtual server has its own endpoint, /mcp/${options.virtual} and /sse/${options.virtual}`,
      ]);
    }
    if (!proxy.virtualServers.get(options.virtual)) {
      const defined = Object.keys(config.virtualServers);
      throw new ConfigError(`no virtual server named "${options.virtual}" in ${config.path}`, [
        `--virtual: ${JSON.stringify(options.virtual)} is not a key of virtualServers (defined: ${defined.length > 0 ? defined.join(', ') : 'none'})`,
      ]);
    }
    const spec = proxy.virtualServers.get(options.virtual)?.spec;
    if (spec?.scopes?.length || Object.keys(spec?.claims ?? {}).length) {
      log.warn('stdio has no access token: the scopes and claims of this virtual server do not apply here', {
        virtualServer: options.virtual,
      });
    }
  }
  const ready = proxy.markReadyWhenSettled(options.startupTimeoutMs);
  const watcher = await watchConfig(config.path === '(none)' ? undefined : config.path, proxy, log);

  if (sessionSeal && options.transport === 'stdio') {
    log.warn('--session-key-file has no effect in stdio mode (it seals HTTP session ids)');
  } else if (sessionSeal) {
    log.info('session ids are sealed: any replica with this key serves any 2025-era session', {
      keyFile: options.sessionKeyFile,
      keys: sessionSeal.keys,
    });
  }

  let closeFrontDoor: () => Promise<void>;
  let stopAdmitting: () => void = () => {};
  let callsInFlight: () => number = () => 0;
  let done: Promise<void>;
  if (options.transport === 'stdio') {
    const stdio = startStdioFrontDoor(proxy, log, {
      ...(options.virtual !== undefined && { view: options.virtual }),
    });
    closeFrontDoor = stdio.close;
    done = stdio.closed;
  } else {
    const http = await startHttpFrontDoor(proxy, log, {
      host: options.host,
      port: options.port,
      ...(admin && { admin }),
      maxSessions: options.maxSessions,
      sessionIdleMs: options.sessionIdleMs,
      maxBodyBytes: options.maxBodyBytes,
      allowedOrigins: options.allowOrigin,
      allowCommands: options.allowCommand,
      ...(adminToken !== undefined && { adminToken }),
      ...(sessionSeal && { sessionSeal }),
      ...(oauth && { oauth }),
      ...(oauth && options.oauthCatalogScopes.length > 0 && { catalogScopes: options.oauthCatalogScopes }),
    }).catch(async (error: unknown) => {
      await proxy.close();
      throw error;
    });
    closeFrontDoor = async () => {
      if (typeof adminToken === 'object') adminToken.close();
      await http.close();
    };
    stopAdmitting = http.stopAdmitting;
    callsInFlight = http.callsInFlight;
    done = new Promise(() => {});
    log.info('listening', {
      mcp: `${http.url}/mcp`,
      sse: `${http.url}/sse`,
      admin: `${http.adminUrl}/mcp_servers`,
    });
    if (options.allowCommand.length === 0 && !isLoopbackHost(admin?.host ?? options.host)) {
      log.warn(
        'the admin API is reachable beyond loopback and may start any program in this container; restrict it with --allow-command <glob>',
      );
    }
  }
  void ready.then(() => {
    const states = proxy.registry.backends().map((b) => `${b.name}:${b.state}`);
    log.info('ready', { backends: states.join(',') });
  });

  const shutdown = createShutdown({
    log,
    drainTimeoutMs: options.drainTimeoutMs,
    beginDrain: () => {
      watcher?.close();
      proxy.startDraining();
      stopAdmitting();
    },
    // Relayed calls are inside front door requests (HTTP) or are all there is to count (stdio).
    inFlight: () => Math.max(callsInFlight(), proxy.registry.inFlight()),
    close: async () => {
      await closeFrontDoor().catch(() => {});
      await proxy.close();
    },
    exit: (code) => process.exit(code),
  });
  process.on('SIGINT', () => shutdown.signal('SIGINT'));
  process.on('SIGTERM', () => shutdown.signal('SIGTERM'));
  await done;
  // The only client went away: nobody is left to receive what a drain would finish.
  await shutdown.stop('client closed stdin', { drain: false });
}

/**
 * The file's virtualServers as the `file` owner's snapshot. A backend name the proxy does not know
 * is a warning (the admin API or the operator may register it later), not an error.
 */
function syncVirtualServers(proxy: Proxy, config: LoadedConfig, log: Logger): string {
  const result = proxy.virtualServers.sync(FILE_OWNER, config.virtualServers);
  for (const [name, spec] of Object.entries(config.virtualServers)) {
    for (const backend of spec.backends ?? []) {
      if (proxy.registry.get(backend)) continue;
      log.warn(
        `virtualServers.${name}.backends: no backend named ${JSON.stringify(backend)} is registered (yet); it shows nothing until one is`,
        { config: config.path },
      );
    }
  }
  const changed = [...result.created, ...result.updated, ...result.removed];
  return changed.join(',');
}

/** Applies every edit of the config file as the `file` owner's snapshot (see config/watch.ts). */
async function watchConfig(
  path: string | undefined,
  proxy: Proxy,
  log: Logger,
): Promise<ConfigWatcher | undefined> {
  // The shipped example is read-only documentation, not a file anyone edits under a running proxy.
  if (path === undefined || path === SHIPPED_EXAMPLE) return undefined;
  return watchConfigFile({
    path,
    log,
    load: (file) => loadConfigFile(file),
    apply: async (next) => {
      const result = await proxy.registry.sync(FILE_OWNER, next.backends);
      const views = syncVirtualServers(proxy, next, log);
      return {
        virtualServers: views || undefined,
        created: result.created.join(',') || undefined,
        updated: result.updated.join(',') || undefined,
        removed: result.removed.join(',') || undefined,
        unchanged: result.unchanged.length,
      };
    },
    onReload: (outcome) => proxy.configReloads[outcome]++,
  });
}

program.parse();
const options = program.opts<CliOptions>();
const log = createLogger(options.logLevel, undefined, { format: options.logFormat });

main(log, options).catch((error: unknown) => {
  // Startup failures a person must fix (config, flags, token file, an exposed admin API): exit 2.
  if (error instanceof ConfigError) {
    if (options.logFormat === 'json') log.error(error.summary, { issues: error.issues.join('\n') });
    else
      process.stderr.write(`multi-mcp: ${error.summary}\n${error.issues.map((i) => `  ${i}`).join('\n')}\n`);
    process.exit(2);
  }
  const message = error instanceof SessionKeyError ? error.message : errorMessage(error);
  if (options.logFormat === 'json') log.error(message);
  else process.stderr.write(`multi-mcp: ${message}\n`);
  if (error instanceof SessionKeyError) process.exit(2);
  process.exit(1);
});
