// Load worker: connects one v1 SDK client (the client most real MCP clients embed today) to one target,
// warms up, runs fixed-count loads of `tools/call` and prints the results as JSON on stdout.
// It runs in its own process, apart from every server: in one process client and server share an event
// loop and the figures come out about three times worse than reality.
import { openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { summarize } from './stats.js';
import { withTimeout } from './timeout.js';
import type { LoadRun, RunResult, WorkerResult, WorkerSpec, WorkerTarget } from './worker-protocol.js';

const CONNECT_TIMEOUT_MS = 30_000;
const MESSAGE = 'hi';

function makeTransport(target: WorkerTarget): Transport {
  if (target.kind === 'http') return new StreamableHTTPClientTransport(new URL(target.url));
  return new StdioClientTransport({
    command: target.command,
    args: target.args,
    // The SDK passes only a handful of variables to the child unless told; keep the full environment so a
    // server behaves as it would when a user starts it.
    env: { ...(process.env as Record<string, string>), ...target.env },
    // A file, not a pipe: nobody in this process has to drain it while we measure.
    stderr: openSync(target.stderrLog, 'a'),
  });
}

async function callOnce(client: Client, tool: string): Promise<void> {
  const result = await client.request(
    { method: 'tools/call', params: { name: tool, arguments: { message: MESSAGE } } },
    CallToolResultSchema,
  );
  const first = result.content[0];
  // A fast error is not a fast call: make sure the echo really came back.
  if (result.isError || first?.type !== 'text' || !first.text.includes(MESSAGE)) {
    throw new Error(`unexpected tools/call result from ${tool}: ${JSON.stringify(result).slice(0, 300)}`);
  }
}

/** Runs `calls` calls with `concurrency` loops in flight; records each call's latency when `samples` is set. */
async function load(
  client: Client,
  tool: string,
  concurrency: number,
  calls: number,
  samples?: Float64Array,
) {
  let issued = 0;
  const loop = async (): Promise<void> => {
    while (issued < calls) {
      const index = issued++;
      const start = performance.now();
      await callOnce(client, tool);
      if (samples) samples[index] = performance.now() - start;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

async function measure(client: Client, spec: WorkerSpec, run: LoadRun): Promise<RunResult> {
  await load(client, spec.tool, run.concurrency, spec.warmup);
  const samples = new Float64Array(run.calls);
  const start = performance.now();
  await load(client, spec.tool, run.concurrency, run.calls, samples);
  const { p50, p99, perSec } = summarize(samples, performance.now() - start);
  return { concurrency: run.concurrency, calls: run.calls, p50, p99, callsPerSec: perSec };
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: client.ts <WorkerSpec as JSON>');
  const spec = JSON.parse(raw) as WorkerSpec;
  const client = new Client({ name: 'multi-mcp-bench', version: '0.1.0' });
  const transport = makeTransport(spec.target);
  await withTimeout('connect', CONNECT_TIMEOUT_MS, client.connect(transport));
  try {
    const runs: RunResult[] = [];
    for (const run of spec.runs) runs.push(await measure(client, spec, run));
    const result: WorkerResult = { runs };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await withTimeout('close', 5_000, client.close()).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
