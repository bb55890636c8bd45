// Orchestrator for `npm run bench`: starts each peer on loopback, one at a time (so servers never compete
// for the CPU with each other), runs the load worker in its own process against it, prints the tables and
// the target checks, and stops every process it started, on success, on error and on Ctrl-C.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hammer } from './capacity.js';
import { churnReport, runChurn } from './churn.js';
import { medianRuns } from './stats.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { NODE, REPO_ROOT, WORKER_SCRIPT } from './paths.js';
import { logTail, Processes } from './processes.js';
import {
  capacityChecks,
  capacityTable,
  latencyTable,
  sessionChecks,
  targetChecks,
  type CapacityOutcome,
  type LatencyOutcome,
} from './report.js';
import {
  DIRECT_TOOL,
  PROXY_TOOL,
  byteRelayStdioTarget,
  directStdioTarget,
  proxyStdioTarget,
  startEverythingHttp,
  startFloorHttp,
  startProxyHttp,
  startSupergateway,
  writeProxyConfig,
  type HttpServer,
} from './servers.js';
import { legacySessionEchoRequest, modernEchoRequest, type RawRequest } from './wire.js';
import type { LoadRun, StdioTarget, WorkerResult, WorkerTarget } from './worker-protocol.js';

/** One admin request every 100 ms: 100 backends take 10 s to add and 10 s to remove. */
const CHURN_INTERVAL_MS = 100;
const CHURN_BASELINE_MS = 5_000;

const progress = (text: string): void => console.error(`bench: ${text}`);
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

interface Context {
  options: BenchOptions;
  processes: Processes;
  workDir: string;
  configPath: string;
  runs: LoadRun[];
}

async function runWorker(
  ctx: Context,
  name: string,
  target: WorkerTarget,
  tool: string,
): Promise<WorkerResult> {
  const spec = { target, tool, warmup: ctx.options.warmup, runs: ctx.runs };
  const calls = ctx.runs.reduce((sum, run) => sum + run.calls + ctx.options.warmup, 0);
  // Generous (a minute plus 20 ms a call, some 40 times what a healthy peer needs on an idle machine)
  // so that a busy machine slows the run down without failing it, while a hung peer still ends it.
  const timeoutMs = 60_000 + calls * 20;
  // The v1 SDK's Streamable HTTP client adds an abort listener per request to one long-lived
  // signal, so Node prints a MaxListenersExceeded warning per call after the first 1,500;
  // writing thousands of warnings would load the client, not the server under test.
  const args = ['--no-warnings', '--import', 'tsx', WORKER_SCRIPT, JSON.stringify(spec)];
  const stdout = await ctx.processes.run(`worker (${name})`, NODE, args, timeoutMs, REPO_ROOT);
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as WorkerResult;
}

/** A target for the worker, the log that explains its failures, and how to stop it afterwards. */
interface Prepared {
  target: WorkerTarget;
  logFile: string;
  stop?: () => Promise<void>;
}

function stdioTarget(make: (ctx: Context) => StdioTarget) {
  return (ctx: Context): Prepared => {
    const target = make(ctx);
    return { target, logFile: target.stderrLog };
  };
}

/** Adapts an HTTP server starter to a target that is stopped after its run. */
function httpTarget(start: (processes: Processes, configPath: string) => Promise<HttpServer>) {
  return async (ctx: Context): Promise<Prepared> => {
    const { server, url } = await start(ctx.processes, ctx.configPath);
    return { target: { kind: 'http', url }, logFile: server.logFile, stop: () => ctx.processes.stop(server) };
  };
}

async function latencyScenario(
  ctx: Context,
  outcome: Omit<LatencyOutcome, 'runs' | 'error'>,
  tool: string,
  prepare: (ctx: Context) => Prepared | Promise<Prepared>,
): Promise<LatencyOutcome> {
  progress(`${outcome.scenario}…`);
  let prepared: Prepared | undefined;
  try {
    prepared = await prepare(ctx);
    const { runs } = await runWorker(ctx, outcome.scenario, prepared.target, tool);
    return { ...outcome, runs };
  } catch (error) {
    progress(`${outcome.scenario} failed: ${message(error)}`);
    // The worker only sees "connection closed"; the server's own log says why.
    const log = prepared ? `\n--- tail of ${prepared.logFile} ---\n${logTail(prepared.logFile)}` : '';
    return { ...outcome, error: `${message(error)}${log}` };
  } finally {
    await prepared?.stop?.();
  }
}

async function capacityScenario(
  ctx: Context,
  outcome: Omit<CapacityOutcome, 'result' | 'error'>,
  start: (processes: Processes, configPath: string) => Promise<HttpServer>,
  request: (url: string) => RawRequest | Promise<RawRequest>,
): Promise<CapacityOutcome> {
  progress(`capacity: ${outcome.scenario}…`);
  let started: HttpServer | undefined;
  try {
    started = await start(ctx.processes, ctx.configPath);
    const { capacitySeconds, capacityConnections } = ctx.options;
    const result = await hammer(
      started.url,
      await request(started.url),
      capacitySeconds,
      capacityConnections,
    );
    return { ...outcome, result };
  } catch (error) {
    progress(`capacity: ${outcome.scenario} failed: ${message(error)}`);
    return { ...outcome, error: message(error) };
  } finally {
    if (started) await ctx.processes.stop(started.server);
  }
}

interface LatencyScenario {
  outcome: Omit<LatencyOutcome, 'runs' | 'error'>;
  tool: string;
  prepare: (ctx: Context) => Prepared | Promise<Prepared>;
}

function latencyScenarios(ctx: Context): LatencyScenario[] {
  const scenarios: LatencyScenario[] = [];
  if (ctx.options.sections.has('stdio')) {
    scenarios.push(
      {
        outcome: { section: 'stdio', scenario: 'stdio direct', baseline: true },
        tool: DIRECT_TOOL,
        prepare: stdioTarget((c) => directStdioTarget(c.workDir)),
      },
      {
        outcome: { section: 'stdio', scenario: 'stdio via byte relay', baseline: false },
        tool: DIRECT_TOOL,
        prepare: stdioTarget((c) => byteRelayStdioTarget(c.workDir)),
      },
      {
        outcome: { section: 'stdio', scenario: 'stdio via proxy', baseline: false },
        tool: PROXY_TOOL,
        prepare: stdioTarget((c) => proxyStdioTarget(c.configPath, c.workDir)),
      },
    );
  }
  if (ctx.options.sections.has('http')) {
    scenarios.push(
      {
        outcome: { section: 'http', scenario: 'http supergateway', baseline: true },
        tool: DIRECT_TOOL,
        prepare: httpTarget(startSupergateway),
      },
      {
        outcome: { section: 'http', scenario: 'http proxy', baseline: false },
        tool: PROXY_TOOL,
        prepare: httpTarget(startProxyHttp),
      },
      {
        outcome: { section: 'http', scenario: 'http server-everything', baseline: false },
        tool: DIRECT_TOOL,
        prepare: httpTarget(startEverythingHttp),
      },
      {
        // The same client against a server that does nothing but answer: what any server could reach.
        outcome: { section: 'http', scenario: 'http node:http floor', baseline: false },
        tool: DIRECT_TOOL,
        prepare: httpTarget(startFloorHttp),
      },
    );
  }
  return scenarios;
}

/** With several rounds a scenario's figures are the per-metric medians; any failed round fails it. */
function combineRounds(outcomes: LatencyOutcome[]): LatencyOutcome {
  const failed = outcomes.find((o) => o.error);
  const first = outcomes[0];
  if (failed || !first || outcomes.length === 1) return failed ?? (first as LatencyOutcome);
  const runs = outcomes.map((o) => o.runs ?? []);
  return { ...first, runs: medianRuns(runs) };
}

async function bench(ctx: Context): Promise<boolean> {
  const scenarios = latencyScenarios(ctx);
  const rounds: LatencyOutcome[][] = scenarios.map(() => []);
  // Rounds interleave the scenarios, so that load from elsewhere drifting during the run hits every
  // scenario alike instead of whichever ran at the worst moment.
  for (let round = 1; round <= ctx.options.rounds; round++) {
    if (ctx.options.rounds > 1) progress(`round ${round} of ${ctx.options.rounds}`);
    for (const [i, scenario] of scenarios.entries()) {
      rounds[i]?.push(await latencyScenario(ctx, scenario.outcome, scenario.tool, scenario.prepare));
    }
  }
  const latency = rounds.map(combineRounds);
  const { sections } = ctx.options;
  const capacity: CapacityOutcome[] = [];
  if (sections.has('capacity')) {
    const floor = { scenario: 'node:http floor', request: 'JSON-RPC echo', baseline: false, floor: true };
    capacity.push(await capacityScenario(ctx, floor, startFloorHttp, () => modernEchoRequest(PROXY_TOOL)));
    const bridge = { scenario: 'supergateway', request: '2025-11-25 session', baseline: true };
    capacity.push(
      await capacityScenario(ctx, bridge, startSupergateway, (url) =>
        legacySessionEchoRequest(url, DIRECT_TOOL),
      ),
    );
    const proxy = { scenario: 'proxy', request: '2026-07-28 stateless', baseline: false };
    capacity.push(await capacityScenario(ctx, proxy, startProxyHttp, () => modernEchoRequest(PROXY_TOOL)));
    // The same request kind as the bridge's, for a like-for-like figure next to the stateless one.
    const proxySession = { scenario: 'proxy', request: '2025-11-25 session', baseline: false };
    capacity.push(
      await capacityScenario(ctx, proxySession, startProxyHttp, (url) =>
        legacySessionEchoRequest(url, PROXY_TOOL),
      ),
    );
    const own = { scenario: 'server-everything', request: '2025-11-25 session', baseline: false };
    capacity.push(
      await capacityScenario(ctx, own, startEverythingHttp, (url) =>
        legacySessionEchoRequest(url, DIRECT_TOOL),
      ),
    );
  }

  let churn: { report?: string; error?: string } | undefined;
  if (sections.has('churn')) {
    progress(`churn: ${ctx.options.churnBackends} stdio backends…`);
    try {
      const result = await runChurn(ctx.processes, ctx.workDir, ctx.configPath, {
        backends: ctx.options.churnBackends,
        intervalMs: CHURN_INTERVAL_MS,
        baselineMs: CHURN_BASELINE_MS,
      });
      churn = { report: churnReport(result) };
    } catch (error) {
      progress(`churn failed: ${message(error)}`);
      churn = { error: message(error) };
    }
  }

  const concurrencies = ctx.runs.map((run) => run.concurrency);
  if (latency.length > 0) {
    console.log(
      `\ntools/call echo, v1 SDK client in its own process (calls: ${ctx.runs.map((r) => `c=${r.concurrency}: ${r.calls}`).join(', ')}; warm-up ${ctx.options.warmup}; rounds: ${ctx.options.rounds}, medians)\n`,
    );
    console.log(latencyTable(latency, concurrencies));
  }
  if (capacity.length > 0) {
    console.log(
      `\ncapacity: autocannon, ${ctx.options.capacityConnections} connections, ${ctx.options.capacitySeconds} s, raw POST /mcp (latency resolution 1 ms)\n`,
    );
    console.log(capacityTable(capacity, ctx.options.capacityConnections));
  }
  if (churn?.report) console.log(`\n${churn.report}`);
  const checks = targetChecks(latency, concurrencies);
  if (checks.length > 0) console.log(`\ntargets (issue #2):\n${checks.join('\n')}`);
  const fast = [...sessionChecks(latency), ...capacityChecks(capacity)];
  if (fast.length > 0) console.log(`\ntargets (issue #11):\n${fast.join('\n')}`);
  const failures = [
    ...latency.map((o) => ({ name: o.scenario, error: o.error })),
    ...capacity.map((o) => ({ name: `capacity ${o.scenario} (${o.request})`, error: o.error })),
    { name: 'churn', error: churn?.error },
  ].filter((o) => o.error);
  for (const failure of failures) console.log(`\nFAILED ${failure.name}:\n${failure.error}`);
  return failures.length === 0;
}

/** Figures from a busy machine are not comparable with anything: say so next to them. */
function reportLoad(before: number, after: number): void {
  const cores = availableParallelism();
  console.log(
    `\nload average (1 min): ${before.toFixed(2)} before, ${after.toFixed(2)} after, on ${cores} CPUs`,
  );
  if (Math.max(before, after) > cores * 0.75) {
    console.log('WARNING: other work was running on this machine; the figures above are noisy.');
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`${message(error)}\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'multi-mcp-bench-'));
  const processes = new Processes(workDir);
  // Ctrl-C and kill must not leave servers behind; `exit` handlers run synchronously, hence SIGKILL there.
  process.on('exit', () => processes.killAll());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      progress(`${signal}: stopping every process`);
      void processes.terminateAll().finally(() => process.exit(130));
    });
  }
  const ctx: Context = {
    options,
    processes,
    workDir,
    configPath: writeProxyConfig(workDir),
    runs: [
      { concurrency: 1, calls: options.callsC1 },
      { concurrency: 16, calls: options.callsC16 },
    ],
  };
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `multi-mcp bench: node ${process.version}, ${availableParallelism()} CPUs (${cpu}), logs in ${workDir}`,
  );
  const loadBefore = loadavg()[0] ?? 0;
  const ok = await bench(ctx);
  reportLoad(loadBefore, loadavg()[0] ?? 0);
  // Keep the logs of a failed run for diagnosis; a clean run leaves nothing behind.
  if (ok) rmSync(workDir, { recursive: true, force: true });
  else console.log(`\nlogs kept in ${workDir}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
