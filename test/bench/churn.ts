// The churn scenario: stdio backends added and removed through the admin API while another client keeps
// calling a backend that stays. It reports how long each added backend takes to appear in a client's
// tools/list, what an idle backend costs the proxy in memory, and how much the churn slows the other
// client down (p50 during the churn against before it).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { descendants, residentBytes } from '../support/procfs.js';
import type { ChurnClientResult, ChurnClientSpec } from './churn-client.js';
import { CHURN_CLIENT, HEAP_PROBE, NODE, REPO_ROOT, TINY_SERVER } from './paths.js';
import type { Processes } from './processes.js';
import { PROXY_TOOL, startProxyHttp } from './servers.js';
import { percentile } from './stats.js';
import { withTimeout } from './timeout.js';

export interface ChurnOptions {
  backends: number;
  /** Time between two admin requests, adding and removing alike. */
  intervalMs: number;
  /** How long the other client's calls are measured before the churn starts. */
  baselineMs: number;
}

export interface ChurnResult {
  backends: number;
  intervalMs: number;
  listedP50: number;
  listedP99: number;
  unlistedP50: number;
  /** V8 heap after GC, per idle backend. */
  heapPerBackend: number;
  /** RSS right after that GC, per idle backend (adds pipes, handles and other native memory). */
  rssPerBackend: number;
  /** Heap after GC once every backend was removed, against before any was added. */
  heapLeftAfter: number;
  processesLeft: number;
  otherP50Before: number;
  otherP50During: number;
  callsBefore: number;
  callsDuring: number;
}

const IDLE_SETTLE_MS = 2_000;
const backendName = (i: number): string => `churn${i}`;
const exposedTool = (i: number): string => `${backendName(i)}__ping`;

function p50(values: number[]): number {
  return percentile(Float64Array.from(values).sort(), 50);
}

/**
 * Watches tools/list the way a client does: on every `list_changed` the list is fetched again, and
 * the first time a name is present (or gone) is recorded. Event-driven, so it adds no polling load.
 */
async function watchToolList(url: string): Promise<{
  seen: Map<string, number>;
  gone: Map<string, number>;
  close: () => Promise<void>;
}> {
  const client = new Client({ name: 'multi-mcp-bench-lister', version: '0.1.0' });
  const seen = new Map<string, number>();
  const gone = new Map<string, number>();
  let previous = new Set<string>();
  let listing = false;
  let again = false;
  const relist = async (): Promise<void> => {
    if (listing) {
      again = true;
      return;
    }
    listing = true;
    try {
      do {
        again = false;
        const now = new Set((await client.listTools()).tools.map((t) => t.name));
        const at = Date.now();
        for (const name of now) if (!seen.has(name)) seen.set(name, at);
        for (const name of previous) if (!now.has(name) && !gone.has(name)) gone.set(name, at);
        previous = now;
      } while (again);
    } finally {
      listing = false;
    }
  };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void relist());
  await withTimeout(
    'lister connect',
    30_000,
    client.connect(new StreamableHTTPClientTransport(new URL(url))),
  );
  await relist();
  return { seen, gone, close: () => client.close() };
}

async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms / 1000} s`);
    await sleep(25);
  }
}

async function admin(method: string, url: string, body?: unknown): Promise<void> {
  const response = await fetch(url, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** Issues `request(i)` for every backend, one every `intervalMs`; returns when each was sent. */
async function paced(count: number, intervalMs: number, request: (i: number) => Promise<void>) {
  const sentAt: number[] = [];
  const pending: Promise<void>[] = [];
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    const slot = start + i * intervalMs;
    if (slot > Date.now()) await sleep(slot - Date.now());
    sentAt[i] = Date.now();
    pending.push(request(i));
  }
  await Promise.all(pending);
  return sentAt;
}

interface Memory {
  heap: number;
  rss: number;
}

/** The proxy's memory after a full GC, read through its inspector (see heap-probe.ts). */
export async function memoryAfterGc(processes: Processes, inspector: string, pid: number): Promise<Memory> {
  // Node 22+ has WebSocket built in; Node 20 needs the flag.
  const flags = typeof WebSocket === 'undefined' ? ['--experimental-websocket'] : [];
  const output = await processes.run(
    'heap probe',
    NODE,
    ['--no-warnings', ...flags, '--import', 'tsx', HEAP_PROBE, inspector],
    60_000,
    REPO_ROOT,
  );
  const { usedBytes } = JSON.parse(output.trim().split('\n').pop() ?? '') as { usedBytes: number };
  return { heap: usedBytes, rss: residentBytes(pid) ?? Number.NaN };
}

/** The inspector's WebSocket URL, which Node prints to stderr (the proxy's log file) at start. */
export async function inspectorUrl(logFile: string): Promise<string> {
  let url: string | undefined;
  await until('proxy inspector URL in its log', 10_000, () => {
    url = /Debugger listening on (ws:\/\/\S+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
    return url !== undefined;
  });
  return url as string;
}

export async function runChurn(
  processes: Processes,
  workDir: string,
  configPath: string,
  options: ChurnOptions,
): Promise<ChurnResult> {
  // The inspector lets the bench force a GC before reading memory; it costs nothing while unused.
  const { server, url } = await startProxyHttp(processes, configPath, ['--inspect=127.0.0.1:0']);
  const inspector = await inspectorUrl(server.logFile);
  const base = url.replace(/\/mcp$/, '');
  const proxyPid = server.child.pid as number;
  const readyFile = join(workDir, 'churn-client.ready');
  const stopFile = join(workDir, 'churn-client.stop');
  const resultFile = join(workDir, 'churn-client.json');
  const spec: ChurnClientSpec = { url, tool: PROXY_TOOL, readyFile, stopFile, resultFile };
  const worker = processes.run(
    'worker (churn)',
    NODE,
    ['--no-warnings', '--import', 'tsx', CHURN_CLIENT, JSON.stringify(spec)],
    // Bounded generously: the churn itself is bounded below, this only catches a hung worker.
    300_000 + options.backends * 2 * (options.intervalMs + 1_000),
    REPO_ROOT,
  );
  let workerFailed: unknown;
  worker.catch((error: unknown) => (workerFailed = error));
  const lister = await watchToolList(url);
  try {
    await until('churn client warmed up', 60_000, () => {
      if (workerFailed) throw workerFailed;
      return existsSync(readyFile);
    });
    const baselineStart = Date.now();
    await sleep(options.baselineMs);
    const baselineEnd = Date.now();
    const before = await memoryAfterGc(processes, inspector, proxyPid);
    // The other client's calls count as "during the churn" only while backends are being added or
    // removed: the forced GCs and the idle pause in between are left out.
    const addStart = Date.now();
    const bound = 60_000 + options.backends * 1_000;
    const addedAt = await paced(options.backends, options.intervalMs, (i) =>
      admin('PUT', `${base}/mcp_servers/${backendName(i)}`, {
        command: NODE,
        args: [TINY_SERVER, backendName(i)],
      }),
    );
    await until('every added backend listed', bound, () =>
      addedAt.every((_, i) => lister.seen.has(exposedTool(i))),
    );
    const addEnd = Date.now();
    const listed = addedAt.map((sent, i) => (lister.seen.get(exposedTool(i)) ?? Number.NaN) - sent);
    await sleep(IDLE_SETTLE_MS);
    const full = await memoryAfterGc(processes, inspector, proxyPid);
    const removeStart = Date.now();

    const removedAt = await paced(options.backends, options.intervalMs, (i) =>
      admin('DELETE', `${base}/mcp_servers/${backendName(i)}`),
    );
    await until('every removed backend unlisted', bound, () =>
      removedAt.every((_, i) => lister.gone.has(exposedTool(i))),
    );
    const removeEnd = Date.now();
    const unlisted = removedAt.map((sent, i) => (lister.gone.get(exposedTool(i)) ?? Number.NaN) - sent);
    const after = await memoryAfterGc(processes, inspector, proxyPid);
    // The proxy's remaining children: the `everything` backend only (and what it started).
    const processesLeft = descendants(proxyPid).length;

    writeFileSync(stopFile, '');
    await worker;
    const { samples } = JSON.parse(readFileSync(resultFile, 'utf8')) as ChurnClientResult;
    const within = (from: number, to: number) => (sample: [number, number]) =>
      sample[0] >= from && sample[0] < to;
    const quiet = samples.filter(within(baselineStart, baselineEnd)).map(([, ms]) => ms);
    const during = samples
      .filter((sample) => within(addStart, addEnd)(sample) || within(removeStart, removeEnd)(sample))
      .map(([, ms]) => ms);
    const sortedListed = Float64Array.from(listed).sort();
    return {
      backends: options.backends,
      intervalMs: options.intervalMs,
      listedP50: percentile(sortedListed, 50),
      listedP99: percentile(sortedListed, 99),
      unlistedP50: p50(unlisted),
      heapPerBackend: (full.heap - before.heap) / options.backends,
      rssPerBackend: (full.rss - before.rss) / options.backends,
      heapLeftAfter: after.heap - before.heap,
      processesLeft,
      otherP50Before: p50(quiet),
      otherP50During: p50(during),
      callsBefore: quiet.length,
      callsDuring: during.length,
    };
  } finally {
    if (!existsSync(stopFile)) writeFileSync(stopFile, '');
    await lister.close().catch(() => undefined);
    await worker.catch(() => undefined);
    await processes.stop(server);
  }
}

export function churnReport(result: ChurnResult): string {
  const kb = (bytes: number): string => `${Math.round(bytes / 1024)} KiB`;
  const signedKb = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${kb(bytes)}`;
  return [
    `churn: ${result.backends} stdio backends added, then removed, through the admin API (one request every ${result.intervalMs} ms), while another client calls ${PROXY_TOOL} at c=1`,
    '',
    `time until listed (PUT sent → in a client's tools/list): p50 ${result.listedP50.toFixed(0)} ms, p99 ${result.listedP99.toFixed(0)} ms`,
    `time until unlisted (DELETE sent → gone from tools/list): p50 ${result.unlistedP50.toFixed(0)} ms`,
    `proxy memory per idle backend, after a full GC: heap ${kb(result.heapPerBackend)}, RSS ${kb(result.rssPerBackend)}; heap after removing all: ${signedKb(result.heapLeftAfter)} against before`,
    `proxy child processes left after removal: ${result.processesLeft} (the one backend that stays)`,
    `other client's p50: ${result.otherP50Before.toFixed(2)} ms before (${result.callsBefore} calls), ${result.otherP50During.toFixed(2)} ms during the churn (${result.callsDuring} calls): ×${(result.otherP50During / result.otherP50Before).toFixed(2)}`,
  ].join('\n');
}
