/**
 * tools/list of a big catalog, answered from the proxy's cache, and the catalog rebuild after one
 * backend changes (issue #11 targets: p50 ≤ 5 ms, rebuild ≤ 20 ms):
 *   node --import tsx test/bench/tools-list.ts [backends=200] [tools=50] [lists=200]
 * (proxy built first: `npx tsc -b proxy`; `PROFILE=<dir>` writes the proxy's --cpu-prof there).
 * Every backend is `tiny-server.mjs` over stdio listing `tools` tools plus `bump`. Lists are
 * fetched one at a time by a raw HTTP client (2026-07-28 self-contained requests, and a 2025-11-25
 * session) and read to the end; next to them, the same bytes from a plain node:http server that
 * answers with a prepared body: the floor of sending that much JSON from Node on this machine.
 * The rebuild figure is what a client notices: from a `tools/call` of one backend's `bump` (which
 * changes its first tool and announces `list_changed`) to the proxy's `list_changed` reaching a
 * session's GET stream: the backend's notification, the proxy's re-list of that backend, the
 * rebuild and the notification out. A list then checks the change is in.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE, PROXY_CLI, TINY_SERVER } from './paths.js';
import { Processes } from './processes.js';
import { freePort, waitReady } from './readiness.js';
import { HOST } from './servers.js';
import { percentile } from './stats.js';

const backends = Number(process.argv[2] ?? 200);
const toolsEach = Number(process.argv[3] ?? 50);
const lists = Number(process.argv[4] ?? 200);
const bumps = Number(process.env['BUMPS'] ?? 20);
const ACCEPT = 'application/json, text/event-stream';
const MODERN = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'tools-list-bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-tools-list-'));
const processes = new Processes(dir);
const config = join(dir, 'mcp.json');
const mcpServers: Record<string, unknown> = {};
for (let i = 0; i < backends; i++) {
  mcpServers[`b${i}`] = { command: NODE, args: [TINY_SERVER, `b${i}`, String(toolsEach)] };
}
writeFileSync(config, JSON.stringify({ mcpServers }));
const port = await freePort();
const profile = process.env['PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['PROFILE']}`] : [];
const proxy = processes.start('proxy', NODE, [
  ...profile,
  PROXY_CLI,
  ...['--transport', 'http', '--host', HOST, '--port', String(port), '--config', config],
]);
const url = `http://${HOST}:${port}/mcp`;
const expected = backends * (toolsEach + 1);

const p50 = (values: number[]): number => percentile(Float64Array.from(values).sort(), 50);
const p99 = (values: number[]): number => percentile(Float64Array.from(values).sort(), 99);

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One POST on a kept-alive node:http connection; the body is read to the end (as text only when `keep`). */
function send(
  target: string,
  body: unknown,
  headers: Record<string, string>,
  keep = true,
): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: ACCEPT,
          'content-length': Buffer.byteLength(payload),
          ...headers,
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => keep && chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target} within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}
const post = (body: unknown, headers: Record<string, string>, keep = true) => send(url, body, headers, keep);

const modernList = (id: number, keep = true) =>
  post(
    { jsonrpc: '2.0', id, method: 'tools/list', params: { _meta: ENVELOPE } },
    { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
    keep,
  );

/** Tool names in a tools/list answer, JSON or SSE. */
function toolsIn(text: string): string[] {
  const data = text.startsWith('{')
    ? text
    : (text.split('\n').find((l) => l.startsWith('data: {')) ?? '').slice(6);
  const message = JSON.parse(data) as { result?: { tools?: { name: string }[] } };
  return (message.result?.tools ?? []).map((t) => t.name);
}

async function timed(count: number, once: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await once(i);
    times.push(performance.now() - started);
  }
  return times;
}

try {
  await waitReady(proxy, { host: HOST, port, okUrl: `http://${HOST}:${port}/readyz` }, 180_000);
  for (let tries = 0; ; tries++) {
    const listed = toolsIn((await modernList(0)).text).length;
    if (listed === expected) break;
    if (tries > 600) throw new Error(`the proxy lists ${listed} tools, not ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // A 2025-11-25 session, its GET stream open for list_changed.
  const init = await post(
    {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    },
    {},
  );
  const sessionId = init.headers['mcp-session-id'];
  if (typeof sessionId !== 'string') throw new Error(`initialize failed: ${init.status} ${init.text}`);
  const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
  const sessionList = (id: number, keep = false) =>
    post({ jsonrpc: '2.0', id, method: 'tools/list', params: {} }, session, keep);

  const sample = await modernList(1);
  // Both answers checked once in full, so a fast wrong answer cannot pass.
  for (const answer of [sample, await sessionList(1, true)]) {
    const listed = toolsIn(answer.text).length;
    if (answer.status !== 200 || listed !== expected)
      throw new Error(`a list of ${listed} tools (${answer.status})`);
  }
  const bytes = Buffer.byteLength(sample.text);
  // In its own process, like the proxy: a server sharing the client's event loop measures slower.
  const sampleFile = join(dir, 'list.json');
  writeFileSync(sampleFile, sample.text);
  const floorPort = await freePort();
  const floor = processes.start('floor', NODE, [
    '-e',
    `const body = require('node:fs').readFileSync(${JSON.stringify(sampleFile)});
     require('node:http').createServer((req, res) => {
       req.resume();
       req.on('end', () => {
         res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
         res.end(body);
       });
     }).listen(${floorPort}, ${JSON.stringify(HOST)});`,
  ]);
  await waitReady(floor, { host: HOST, port: floorPort });
  const floorUrl = `http://${HOST}:${floorPort}/`;
  const floorList = () => send(floorUrl, {}, {}, false);

  // Interleaved warm-up, then each kind in turn.
  for (let i = 0; i < 20; i++) {
    await modernList(i, false);
    await sessionList(i);
    await floorList();
  }
  // Interleaved, so load from elsewhere falls on all three alike.
  const modernTimes: number[] = [];
  const sessionTimes: number[] = [];
  const floorTimes: number[] = [];
  for (let i = 0; i < lists; i++) {
    modernTimes.push(...(await timed(1, () => modernList(i, false))));
    sessionTimes.push(...(await timed(1, () => sessionList(i))));
    floorTimes.push(...(await timed(1, () => floorList())));
  }

  // Rebuild: bump one backend, wait for the session's GET stream to hear list_changed.
  const stream = await fetch(url, { method: 'GET', headers: { accept: 'text/event-stream', ...session } });
  const reader = stream.body?.getReader();
  if (!reader) throw new Error('no GET stream');
  const decoder = new TextDecoder();
  let buffered = '';
  const nextListChanged = async (): Promise<void> => {
    for (;;) {
      const at = buffered.indexOf('notifications/tools/list_changed');
      if (at >= 0) {
        buffered = buffered.slice(at + 10);
        return;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('GET stream ended');
      buffered += decoder.decode(value, { stream: true });
    }
  };
  const rebuildTimes: number[] = [];
  for (let i = 0; i < bumps; i++) {
    const backend = `b${(i * 37) % backends}`;
    const heard = nextListChanged();
    const started = performance.now();
    const called = await post(
      {
        jsonrpc: '2.0',
        id: 1000 + i,
        method: 'tools/call',
        params: { name: `${backend}__bump`, arguments: {}, _meta: ENVELOPE },
      },
      { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': `${backend}__bump` },
    );
    if (called.status !== 200) throw new Error(`bump: ${called.status} ${called.text}`);
    await heard;
    rebuildTimes.push(performance.now() - started);
    const after = await modernList(2000 + i);
    if (!after.text.includes(`tool 0 of ${backend}, changed `)) throw new Error('the change is not listed');
  }
  await reader.cancel();
  await processes.stop(floor);

  const row = (what: string, times: number[], target?: number): string =>
    `${what.padEnd(44)} p50 ${p50(times).toFixed(2).padStart(7)} ms  p99 ${p99(times).toFixed(2).padStart(7)} ms` +
    (target === undefined ? '' : `  ${p50(times) <= target ? 'PASS' : 'MISS'} (target p50 ≤ ${target} ms)`);
  console.log(
    `${backends} backends × ${toolsEach} tools (+ bump) = ${expected} tools, ${bytes} bytes per list`,
  );
  console.log(row('tools/list 2026-07-28 stateless', modernTimes, 5));
  console.log(row('tools/list 2025-11-25 session', sessionTimes, 5));
  console.log(row('node:http floor (same bytes, prepared)', floorTimes));
  console.log(
    `  of floor: 2026 ${(p50(modernTimes) / p50(floorTimes)).toFixed(2)}×, session ${(p50(sessionTimes) / p50(floorTimes)).toFixed(2)}×`,
  );
  console.log(row('one backend changed → list_changed heard', rebuildTimes, 20));
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  // Time for the proxy to stop its backends and exit (and write its profile).
  await processes.stop(proxy);
  await processes.terminateAll();
}
