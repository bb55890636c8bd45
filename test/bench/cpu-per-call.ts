/**
 * CPU time the proxy process spends per relayed call (stdio front door, stdio backend).
 * Unlike latency, CPU time barely moves with other load on the machine, so this is the
 * figure to compare before and after a change to the hot path.
 *   node --import tsx test/bench/cpu-per-call.ts [calls]
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { EVERYTHING_BIN as everythingBin, PROXY_CLI as cliPath } from './paths.js';

const calls = Number(process.argv[2] ?? 20_000);
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
    mcpServers: { everything: { command: process.execPath, args: [everythingBin, 'stdio'] } },
  }),
);
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [
    ...(process.env.PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/cpu'] : []),
    cliPath,
    '--transport',
    'stdio',
    '--config',
    config,
    '--log-level',
    'warn',
  ],
});
const client = new Client({ name: 'cpu-bench', version: '1' });
await client.connect(transport);
const call = () =>
  client.request(
    { method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'hi' } } },
    CallToolResultSchema,
  );
for (let i = 0; i < 500; i++) await call();
const pid = transport.pid;
if (pid === null) throw new Error('no proxy pid');
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
  `${calls} calls at c=${concurrency}: proxy CPU ${((used * 1000) / calls).toFixed(1)} µs/call, ${Math.round((calls * 1000) / wallMs)} calls/s`,
);
await client.close();
