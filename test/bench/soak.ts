// Memory under sustained load and after abandoned sessions (issue #11):
//   npx tsx test/bench/soak.ts [requests=200000] [sessions=10000]      (proxy built first)
// 1. `requests` self-contained 2026-07-28 tools/call requests (autocannon, 16 connections) through
//    the proxy's one long-lived stateless relay: its V8 heap after a forced GC must not grow with the
//    number of requests (the v2 SDK grows with a shared server in its stateless handler, #2607).
// 2. `sessions` 2025-era sessions opened (initialize + initialized) and abandoned: after the idle
//    sweep the heap must be back within 10 % of what it was before them.
// The backend is tiny-server.mjs, so the proxy does the work. Figures are heap after GC (inspector).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { inspectorUrl, memoryAfterGc } from './churn.js';
import { NODE, TINY_SERVER } from './paths.js';
import { Processes } from './processes.js';
import { startProxyHttp } from './servers.js';
import { modernEchoRequest } from './wire.js';

const requests = Number(process.argv[2] ?? 200_000);
const sessionCount = Number(process.argv[3] ?? 10_000);
/** Long enough that sessions are not swept while the rest are still being opened on a busy machine. */
const IDLE_MS = 20_000;
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

const workDir = mkdtempSync(join(tmpdir(), 'multi-mcp-soak-'));
const processes = new Processes(workDir);
process.on('exit', () => processes.killAll());

async function sessionsOpen(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = /^multi_mcp_sessions\{[^}]*kind="streamable-http"[^}]*\} (\d+)/m.exec(text);
  return Number(match?.[1] ?? Number.NaN);
}

async function openAndAbandon(url: string): Promise<void> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  let next = 0;
  const one = async (): Promise<void> => {
    const init = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'soak', version: '1' },
        },
      }),
    });
    await init.text();
    const id = init.headers.get('mcp-session-id');
    if (!id) throw new Error(`initialize failed: HTTP ${init.status}`);
    const done = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await done.text();
  };
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < sessionCount) await one();
    }),
  );
}

async function main(): Promise<void> {
  const config = join(workDir, 'mcp.json');
  writeFileSync(
    config,
    JSON.stringify({ mcpServers: { tiny: { command: NODE, args: [TINY_SERVER, 'tiny'] } } }),
  );
  const { server, url } = await startProxyHttp(
    processes,
    config,
    ['--inspect=127.0.0.1:0'],
    ['--session-idle-ms', String(IDLE_MS), '--max-sessions', String(sessionCount * 2)],
  );
  const inspector = await inspectorUrl(server.logFile);
  const pid = server.child.pid as number;
  const base = url.replace(/\/mcp$/, '');
  const request = modernEchoRequest('tiny__ping');
  const load = (amount: number) =>
    autocannon({
      url,
      method: 'POST',
      headers: request.headers,
      body: request.body,
      idReplacement: true,
      connections: 16,
      amount,
    });

  await load(5_000);
  const before = await memoryAfterGc(processes, inspector, pid);
  const started = performance.now();
  const result = await load(requests);
  const seconds = (performance.now() - started) / 1000;
  const after = await memoryAfterGc(processes, inspector, pid);
  const growth = after.heap - before.heap;
  console.log(
    `soak: ${result.requests.total} requests of 2026-07-28 tools/call in ${seconds.toFixed(0)} s ` +
      `(${Math.round(result.requests.total / seconds)} req/s, non-2xx ${result.non2xx}, errors ${result.errors})`,
  );
  console.log(
    `  heap after GC ${mb(before.heap)} → ${mb(after.heap)} (${growth >= 0 ? '+' : ''}${mb(growth)}, ` +
      `${((growth / Math.max(result.requests.total, 1)) * 1000).toFixed(0)} B per 1,000 requests); rss ${mb(after.rss)}`,
  );
  console.log(`${growth < before.heap * 0.1 ? 'PASS' : 'MISS'} heap grows < 10 % over the soak`);

  await openAndAbandon(url);
  const open = await sessionsOpen(base);
  const loaded = await memoryAfterGc(processes, inspector, pid);
  const deadline = Date.now() + IDLE_MS * 2 + 60_000;
  while ((await sessionsOpen(base)) > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 500));
  const swept = await memoryAfterGc(processes, inspector, pid);
  console.log(
    `sessions: ${sessionCount} opened and abandoned (${open} open): heap ${mb(after.heap)} before, ` +
      `${mb(loaded.heap)} with them (${kb((loaded.heap - after.heap) / Math.max(open, 1))} each), ` +
      `${mb(swept.heap)} after the idle sweep (${await sessionsOpen(base)} left)`,
  );
  console.log(
    `${swept.heap <= after.heap * 1.1 ? 'PASS' : 'MISS'} heap back within 10 % of its baseline after the sweep`,
  );
  console.log(`load average (1 min): ${(loadavg()[0] ?? 0).toFixed(2)}`);
  await processes.terminateAll();
  rmSync(workDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    console.error(`logs in ${workDir}`);
    process.exit(1);
  },
);
