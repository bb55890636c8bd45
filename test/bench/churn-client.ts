// Load worker of the churn bench: one v1 SDK client calling `tools/call` at concurrency 1 over
// Streamable HTTP, for as long as the orchestrator lets it. It records when each call started (wall
// clock, so the orchestrator can split them into "before" and "during churn") and how long it took.
// Started with one JSON argument { url, tool, readyFile, stopFile, resultFile }; once `stopFile`
// exists it writes { samples: [[startMs, latencyMs], …] } to `resultFile` (a file: tens of thousands of
// samples are more than a pipe should be trusted with at exit).
import { existsSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { withTimeout } from './timeout.js';

export interface ChurnClientSpec {
  url: string;
  tool: string;
  readyFile: string;
  stopFile: string;
  resultFile: string;
}

export interface ChurnClientResult {
  samples: [number, number][];
}

const WARMUP_CALLS = 300;
const MESSAGE = 'hi';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ChurnClientSpec;
  const client = new Client({ name: 'multi-mcp-bench-churn', version: '0.1.0' });
  await withTimeout('connect', 30_000, client.connect(new StreamableHTTPClientTransport(new URL(spec.url))));
  const call = async (): Promise<void> => {
    const result = await client.request(
      { method: 'tools/call', params: { name: spec.tool, arguments: { message: MESSAGE } } },
      CallToolResultSchema,
    );
    const first = result.content[0];
    if (result.isError || first?.type !== 'text' || !first.text.includes(MESSAGE)) {
      throw new Error(`unexpected tools/call result: ${JSON.stringify(result).slice(0, 300)}`);
    }
  };
  for (let i = 0; i < WARMUP_CALLS; i++) await call();
  writeFileSync(spec.readyFile, '');

  let stop = false;
  const watcher = setInterval(() => (stop = existsSync(spec.stopFile)), 50);
  const samples: [number, number][] = [];
  while (!stop) {
    const wall = Date.now();
    const start = performance.now();
    await call();
    samples.push([wall, performance.now() - start]);
  }
  clearInterval(watcher);
  const result: ChurnClientResult = { samples };
  writeFileSync(spec.resultFile, JSON.stringify(result));
  await withTimeout('close', 5_000, client.close()).catch(() => undefined);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
