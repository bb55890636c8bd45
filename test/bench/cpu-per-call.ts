/**
 * CPU time the proxy process spends per relayed tools/call, for one front door:
 *   node --import tsx test/bench/cpu-per-call.ts [stdio|http|http-2026|supergateway] [calls]
 * (proxy built first: `npx tsc -b proxy`). Unlike latency, CPU time barely moves with other
 * load on the machine, so this is the figure to compare before and after a hot-path change.
 * The backend is server-everything over stdio; 16 calls are kept in flight. `supergateway`
 * measures the single-hop bridge (stateful Streamable HTTP) the same way, for comparison; `sse`
 * is the legacy SSE front door (/sse + /messages) with the same client. After the c=16 run, the
 * p50 of calls one at a time is printed too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { EVERYTHING_BIN, PROXY_CLI, SUPERGATEWAY_BIN } from './paths.js';
import { ID_PLACEHOLDER, modernEchoRequest } from './wire.js';

const mode = process.argv[2] ?? 'stdio';
const calls = Number(process.argv[3] ?? 10_000);
const concurrency = 16;
const ticksPerSecond = 100; // USER_HZ on Linux

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-cpu-'));
const config = join(dir, 'mcp.json');
writeFileSync(
  config,
  JSON.stringify({
    mcpServers: { everything: { command: process.execPath, args: [EVERYTHING_BIN, 'stdio'] } },
  }),
);
const profile = process.env['PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['PROFILE']}`] : [];
const proxyArgs = [...profile, PROXY_CLI, '--config', config];

let pid: number;
let call: () => Promise<unknown>;
let stop: () => Promise<void>;

if (mode === 'stdio') {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...proxyArgs, '--transport', 'stdio'],
  });
  const client = new Client({ name: 'cpu-bench', version: '1' });
  await client.connect(transport);
  pid = transport.pid ?? 0;
  call = () =>
    client.request(
      { method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'hi' } } },
      CallToolResultSchema,
    );
  stop = () => client.close();
} else if (mode === 'supergateway') {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const bridge = spawn(
    process.execPath,
    [
      ...[SUPERGATEWAY_BIN, '--stdio', `${process.execPath} ${EVERYTHING_BIN} stdio`],
      ...['--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none'],
      ...['--healthEndpoint', '/healthz'],
    ],
    { stdio: 'ignore' },
  );
  pid = bridge.pid ?? 0;
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const client = new Client({ name: 'cpu-bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  call = () =>
    client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } },
      CallToolResultSchema,
    );
  stop = async () => {
    await client.close();
    bridge.kill('SIGTERM');
  };
} else {
  const proxy = spawn(process.execPath, [...proxyArgs, '--transport', 'http', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  pid = proxy.pid ?? 0;
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`proxy did not start:\n${seen}`)), 30_000);
    proxy.stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /mcp=(http:\/\/[^ ]+\/mcp)/.exec(seen);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  for (let i = 0; i < 300 && !(await fetch(url.replace(/mcp$/, 'readyz'))).ok; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stop = async () => void proxy.kill('SIGTERM');
  if (mode === 'http' || mode === 'sse') {
    const client = new Client({ name: 'cpu-bench', version: '1' });
    await client.connect(
      mode === 'sse'
        ? new SSEClientTransport(new URL(url.replace(/mcp$/, 'sse')))
        : new StreamableHTTPClientTransport(new URL(url)),
    );
    call = () =>
      client.request(
        { method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'hi' } } },
        CallToolResultSchema,
      );
    const kill = stop;
    stop = async () => {
      await client.close();
      await kill();
    };
  } else {
    const request = modernEchoRequest('everything__echo');
    let id = 0;
    call = async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: request.headers,
        body: request.body.replace(`"${ID_PLACEHOLDER}"`, String(++id)),
      });
      const text = await response.text();
      if (!text.includes('hi')) throw new Error(`unexpected answer: ${text}`);
    };
  }
}

for (let i = 0; i < 500; i++) await call();
const before = cpuMs(pid);
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next++ < calls) await call();
  }),
);
const wallMs = performance.now() - started;
const used = cpuMs(pid) - before;
console.log(
  `${mode}: ${calls} calls at c=${concurrency}: proxy CPU ${((used * 1000) / calls).toFixed(1)} µs/call, ` +
    `${Math.round((calls * 1000) / wallMs)} calls/s`,
);
const single: number[] = [];
for (let i = 0; i < Math.min(calls, 2000); i++) {
  const at = performance.now();
  await call();
  single.push(performance.now() - at);
}
single.sort((a, b) => a - b);
console.log(`${mode}: c=1 p50 ${(single[Math.floor(single.length / 2)] ?? 0).toFixed(3)} ms`);
await stop();
