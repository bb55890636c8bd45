#!/usr/bin/env node
/**
 * `multi-mcp-operator`: reconciles McpServer resources into every multi-mcp proxy replica.
 * The composition root: flags → kubeconfig, admin client, controller.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createLogger } from '@multi-mcp/proxy';
import type { LogLevel } from '@multi-mcp/proxy';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createController } from './controller/controller.js';
import { KeepAliveKubeConfig } from './controller/kubeconfig.js';
import { createLeaderElector } from './controller/leader.js';
import { startHealthServer } from './http/health.js';
import { createMetrics } from './http/metrics.js';
import { createAdminClient } from './proxyclient/admin.js';
import { VERSION } from './index.js';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function serviceRef(value: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!m?.[1] || !m[3])
    throw new InvalidArgumentError(
      `expected <namespace>/<service>, e.g. multi-mcp/multi-mcp-admin, got "${value}".`,
    );
  return { namespace: m[1], name: m[3] };
}

function seconds(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got "${value}".`);
    return n;
  };
}

function ownNamespace(): string | undefined {
  if (process.env['POD_NAMESPACE']) return process.env['POD_NAMESPACE'];
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const program = new Command('multi-mcp-operator')
  .description('Reconciles McpServer resources into every multi-mcp proxy replica.')
  .version(VERSION)
  .addOption(
    new Option('--kubeconfig <path>', 'kubeconfig file; default: in-cluster config, else ~/.kube/config').env(
      'KUBECONFIG',
    ),
  )
  .addOption(
    new Option('--namespaces <list>', 'comma-separated namespaces to watch; default: all')
      .env('MULTI_MCP_WATCH_NAMESPACES')
      .argParser(list),
  )
  .addOption(
    new Option(
      '--proxy-service <namespace/name>',
      "the proxy's admin Service (its EndpointSlices list the replicas)",
    )
      .env('MULTI_MCP_PROXY_SERVICE')
      .argParser(serviceRef)
      .conflicts('proxyUrl'),
  )
  .addOption(
    new Option('--proxy-url <urls>', 'fixed proxy admin URLs instead of --proxy-service (development only)')
      .env('MULTI_MCP_PROXY_URLS')
      .argParser(list),
  )
  .addOption(
    new Option(
      '--proxy-port-name <name>',
      'EndpointSlice port of the admin API; default: the first port',
    ).env('MULTI_MCP_PROXY_PORT_NAME'),
  )
  .addOption(
    new Option(
      '--admin-token-file <path>',
      'file with the bearer token of the proxies’ admin API (re-read per call)',
    ).env('MULTI_MCP_ADMIN_TOKEN_FILE'),
  )
  .addOption(
    new Option(
      '--stdio-namespaces <list>',
      'namespaces whose McpServers may run stdio programs inside the proxy pods ("*" = all); default: the operator’s own',
    )
      .env('MULTI_MCP_STDIO_NAMESPACES')
      .argParser(list),
  )
  .option('--owner <name>', 'owner name of the operator’s backends on the proxies', 'operator')
  .addOption(
    new Option('--resync-seconds <n>', 'push the whole set to every replica this often')
      .argParser(seconds('--resync-seconds', 1, 86_400))
      .default(60),
  )
  .addOption(
    new Option(
      '--status-interval-seconds <n>',
      'read every replica’s backends this often and update the statuses whose truth changed',
    )
      .argParser(seconds('--status-interval-seconds', 1, 3_600))
      .default(5),
  )
  .addOption(
    new Option('--admin-timeout-seconds <n>', 'timeout of one admin API call')
      .argParser(seconds('--admin-timeout-seconds', 1, 600))
      .default(10),
  )
  .option('--health-host <address>', 'address of /healthz, /readyz and /metrics', '0.0.0.0')
  .addOption(
    new Option('--health-port <port>', 'port of /healthz, /readyz and /metrics (0 = any free port)')
      .argParser(seconds('--health-port', 0, 65535))
      .default(8081),
  )
  .option('--no-leader-elect', 'run without a Lease (only when exactly one operator runs)')
  .addOption(
    new Option('--leader-election-namespace <ns>', 'namespace of the Lease; default: the operator’s own').env(
      'MULTI_MCP_LEADER_ELECTION_NAMESPACE',
    ),
  )
  .option('--lease-name <name>', 'name of the Lease', 'multi-mcp-operator')
  .addOption(
    new Option('--lease-duration-seconds <n>', 'a standby takes over after this long without renewal')
      .argParser(seconds('--lease-duration-seconds', 2, 600))
      .default(15),
  )
  .addOption(
    new Option('--log-level <level>', 'log verbosity (logs go to stderr)')
      .choices(['debug', 'info', 'warn', 'error'])
      .default('info'),
  );

interface Options {
  kubeconfig?: string;
  namespaces?: string[];
  proxyService?: { namespace: string; name: string };
  proxyUrl?: string[];
  proxyPortName?: string;
  adminTokenFile?: string;
  stdioNamespaces?: string[];
  owner: string;
  resyncSeconds: number;
  statusIntervalSeconds: number;
  adminTimeoutSeconds: number;
  healthHost: string;
  healthPort: number;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaseName: string;
  leaseDurationSeconds: number;
  logLevel: LogLevel;
}

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<Options>();
  const log = createLogger(options.logLevel);
  const kubeConfig = new KeepAliveKubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  const own = ownNamespace();
  const stdioNamespaces = options.stdioNamespaces ?? (own ? [own] : []);

  if (!options.proxyService && !options.proxyUrl) {
    throw new Error(
      'say where the proxies are: --proxy-service <namespace>/<admin Service> (or MULTI_MCP_PROXY_SERVICE)',
    );
  }
  const identity = process.env['POD_NAME'] ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
  const leaseNamespace = options.leaderElectionNamespace ?? own;
  if (options.leaderElect && !leaseNamespace) {
    throw new Error(
      'leader election needs a namespace for its Lease: set --leader-election-namespace ' +
        '(outside a cluster), or --no-leader-elect when only one operator runs',
    );
  }
  const metrics = createMetrics();
  const controller = createController({
    kubeConfig,
    log,
    admin: createAdminClient({
      ...(options.adminTokenFile && { tokenFile: options.adminTokenFile }),
      timeoutMs: options.adminTimeoutSeconds * 1000,
      onRequest: (method) => metrics.adminRequests.inc({ method }),
    }),
    namespaces: options.namespaces ?? [],
    ...(options.proxyService && { proxyService: options.proxyService }),
    ...(options.proxyUrl && {
      staticReplicas: options.proxyUrl.map((url) => ({ id: url, url: url.replace(/\/+$/, '') })),
    }),
    ...(options.proxyPortName && { proxyPortName: options.proxyPortName }),
    stdioNamespaces,
    owner: options.owner,
    resyncMs: options.resyncSeconds * 1000,
    statusIntervalMs: options.statusIntervalSeconds * 1000,
    metrics,
    identity,
  });
  const elector =
    options.leaderElect && leaseNamespace
      ? createLeaderElector({
          kubeConfig,
          namespace: leaseNamespace,
          name: options.leaseName,
          identity,
          leaseDurationMs: options.leaseDurationSeconds * 1000,
          renewDeadlineMs: Math.max(1000, options.leaseDurationSeconds * 1000 * (2 / 3)),
          retryPeriodMs: Math.max(500, (options.leaseDurationSeconds * 1000) / 7.5),
          log,
        })
      : undefined;

  const health = await startHealthServer({
    host: options.healthHost,
    port: options.healthPort,
    registry: metrics.registry,
    // A standby waiting for the Lease is ready if it can reach the Lease; a leader once its caches are synced.
    notReady: () => {
      if (elector && !elector.isLeader()) return elector.problem();
      return controller.synced() ? undefined : 'caches not synced yet';
    },
  });

  let stopping = false;
  const stop = async (why: string, code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { reason: why });
    const forced = setTimeout(() => process.exit(1), 10_000);
    forced.unref();
    await controller.stop().catch(() => undefined);
    await elector?.release();
    await health.close().catch(() => undefined);
    process.exit(code);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: String(reason) }));

  log.info('starting', {
    version: VERSION,
    identity,
    cluster: kubeConfig.getCurrentCluster()?.server,
    namespaces: options.namespaces?.join(',') || '(all)',
    proxies: options.proxyService
      ? `${options.proxyService.namespace}/${options.proxyService.name}`
      : (options.proxyUrl ?? []).join(','),
    stdioNamespaces: stdioNamespaces.join(',') || '(none)',
    health: health.url,
    lease: elector ? `${leaseNamespace}/${options.leaseName}` : '(no leader election)',
  });
  if (elector) {
    await elector.acquire();
    metrics.leader.set(1);
    // Never two leaders: a process that lost the Lease stops at once and is restarted.
    void elector.lost.then((why) => {
      metrics.leader.set(0);
      log.error('lost the lease', { reason: why });
      void stop(`lost the lease: ${why}`, 1);
    });
  }
  await controller.start();
  log.info('running');
}

main().catch((error: unknown) => {
  process.stderr.write(`multi-mcp-operator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
