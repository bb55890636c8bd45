import type { CatalogStore } from './catalog/store.js';
import type { ReloadOutcome } from './config/watch.js';
import { createCatalogStore } from './catalog/store.js';
import type { NamingOptions } from './catalog/names.js';
import type { PinPolicy } from './catalog/pins.js';
import { PinBook } from './catalog/pins.js';
import type { Views } from './catalog/view.js';
import { createViews } from './catalog/view.js';
import { VirtualServers } from './catalog/virtual-servers.js';
import type { Gateway } from './gateway/gateway.js';
import { createGateway } from './gateway/gateway.js';
import { RelayStats } from './gateway/relay-stats.js';
import type { Logger } from './log.js';
import type { BackoffPolicy } from './registry/backoff.js';
import { Registry } from './registry/registry.js';
import { VERSION } from './version.js';

export interface ProxyOptions {
  log: Logger;
  naming: NamingOptions;
  backoff?: BackoffPolicy;
  /** How long a removed or replaced backend may finish its calls in flight (default 10 s). */
  drainMs?: number;
  /** How often a connected backend is asked whether it still answers (0 = never; default 10 s). */
  livenessIntervalMs?: number;
  instructions?: string;
  /** How long a 2026-07-28 client has to answer an input_required round (default 120 s). */
  inputTimeoutMs?: number;
  /** Pinned tool definitions: policy for unpinned tools and where records persist (default: off, memory). */
  pins?: { policy: PinPolicy; stateDir?: string | undefined };
}

/** The proxy's parts, wired once: config owners feed the registry, the catalog follows it, the gateway serves it. */
export interface Proxy {
  registry: Registry;
  catalog: CatalogStore;
  /** Recorded pins (first-seen, approved) and drift counts. */
  pins: PinBook;
  /** Named selections of the catalog (config file, admin API, operator), each its own endpoint. */
  virtualServers: VirtualServers;
  views: Views;
  gateway: Gateway;
  /** Relayed requests per backend, method and outcome, with latencies. */
  relayStats: RelayStats;
  /** True once startup backends have settled: until then lists would be incomplete. */
  isReady(): boolean;
  /** Waits (at most `timeoutMs`) for the backends registered so far to connect or fail, then opens lists. */
  markReadyWhenSettled(timeoutMs: number): Promise<void>;
  /** True once shutdown has begun: /readyz fails and front doors admit no new sessions. */
  isDraining(): boolean;
  startDraining(): void;
  /** Config file reloads so far, by outcome (the watcher counts, /metrics reads). */
  readonly configReloads: Record<ReloadOutcome, number>;
  close(): Promise<void>;
}

export function createProxy(options: ProxyOptions): Proxy {
  let ready = false;
  let draining = false;
  let open: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => (open = resolve));
  const relayStats = new RelayStats();
  const gateway = createGateway({
    stats: relayStats,
    serverInfo: { name: 'multi-mcp', version: VERSION },
    log: options.log,
    ready: readyPromise,
    ...(options.instructions !== undefined && { instructions: options.instructions }),
    ...(options.inputTimeoutMs !== undefined && { inputTimeoutMs: options.inputTimeoutMs }),
  });
  const registry = new Registry({
    log: options.log,
    clientInfo: { name: 'multi-mcp', version: VERSION },
    hooks: gateway.backendHooks,
    ...(options.backoff && { backoff: options.backoff }),
    ...(options.drainMs !== undefined && { drainMs: options.drainMs }),
    ...(options.livenessIntervalMs !== undefined && { livenessIntervalMs: options.livenessIntervalMs }),
  });
  const pins = new PinBook({
    policy: options.pins?.policy ?? 'off',
    stateDir: options.pins?.stateDir,
    log: options.log,
  });
  const catalog = createCatalogStore(registry, options.naming, options.log, pins);
  const virtualServers = new VirtualServers();
  const views = createViews(catalog, virtualServers, () => gateway.watchedViews());
  gateway.attach(registry, catalog, views);
  registry.onChange(() => relayStats.retain(new Set(registry.backends().map((b) => b.name))));
  virtualServers.onChange(() => relayStats.retainViews(new Set(virtualServers.list().map((v) => v.name))));

  return {
    registry,
    catalog,
    pins,
    virtualServers,
    views,
    gateway,
    relayStats,
    isReady: () => ready,
    async markReadyWhenSettled(timeoutMs) {
      await registry.settled(timeoutMs);
      // Let the catalog rebuild queued by the last state change run before lists open.
      await new Promise((resolve) => setImmediate(resolve));
      ready = true;
      open();
    },
    isDraining: () => draining,
    startDraining: () => {
      draining = true;
    },
    configReloads: { ok: 0, failed: 0 },
    close: () => registry.close(),
  };
}
