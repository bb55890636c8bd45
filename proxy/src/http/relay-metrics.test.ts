import { fileURLToPath } from 'node:url';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_OUTCOMES } from '../gateway/relay-stats.js';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

// Every outcome an SRE tells apart, produced for real: real backends, a real client over HTTP.

const EVERYTHING = fileURLToPath(
  new URL('../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
);
const SLOW_TIMEOUT_MS = 300;

function value(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('relay metrics', () => {
  let h: Harness;
  let client: V1Client;

  beforeAll(async () => {
    h = await startHarness();
    await h.call('PUT', '/mcp_servers/calc', fixtureServer('calculator.ts'));
    await h.call('PUT', '/mcp_servers/fragile', fixtureServer('echo-named.ts', 'fragile'));
    await h.call('PUT', '/mcp_servers/slow', {
      command: process.execPath,
      args: [EVERYTHING, 'stdio'],
      timeoutMs: SLOW_TIMEOUT_MS,
      connectTimeoutMs: 20_000,
    });
    await h.proxy.markReadyWhenSettled(20_000);
    client = new V1Client({ name: 'metrics-test', version: '1.0.0' });
    await client.connect(new V1HttpTransport(new URL(`${h.url}/mcp`)));
  }, 30_000);
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  it('counts relayed requests per backend, method and outcome, with a latency histogram', async () => {
    const call = (name: string, args: Record<string, unknown>) =>
      client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema);
    await call('calc__add', { a: 1, b: 2 });
    await call('calc__add', { a: 3, b: 4 });
    expect((await call('calc__divide', { a: 1, b: 0 })).isError).toBe(true);
    await expect(client.getPrompt({ name: 'calc__explain-calculation', arguments: {} })).rejects.toThrow();
    await expect(call('slow__trigger-long-running-operation', { duration: 5, steps: 1 })).rejects.toThrow(
      /did not answer tools\/call in time/,
    );
    await expect(call('fragile__crash', {})).rejects.toThrow(/closed the connection/);

    const text = await (await h.call('GET', '/metrics')).text();
    const count = (backend: string, method: string, outcome: string) =>
      value(
        text,
        `multi_mcp_relayed_requests_total{backend="${backend}",method="${method}",outcome="${outcome}"}`,
      );
    expect(count('calc', 'tools/call', 'ok')).toBe(2);
    expect(count('calc', 'tools/call', 'tool_error')).toBe(1);
    expect(count('calc', 'prompts/get', 'protocol_error')).toBe(1);
    expect(count('slow', 'tools/call', 'timeout')).toBe(1);
    expect(count('fragile', 'tools/call', 'unavailable')).toBe(1);
    // Every outcome is exported, zeros included, so rate() of a first failure starts from zero.
    for (const outcome of RELAY_OUTCOMES) expect(count('calc', 'tools/call', outcome)).toBeDefined();

    const histogram = (suffix: string, extra = '') =>
      value(text, `multi_mcp_relay_duration_seconds${suffix}{backend="calc",method="tools/call"${extra}}`);
    expect(histogram('_count')).toBe(3);
    expect(histogram('_bucket', ',le="+Inf"')).toBe(3);
    expect(histogram('_bucket', ',le="60"')).toBe(3);
    // The timed-out call lasted its timeout: beyond the 0.25 s bucket. (Node's timers may fire a
    // fraction of a millisecond before performance.now() says 300 ms, and late on a busy machine.)
    const slowBucket = (le: string) =>
      value(text, `multi_mcp_relay_duration_seconds_bucket{backend="slow",method="tools/call",le="${le}"}`);
    expect(slowBucket('0.25')).toBe(0);
    expect(slowBucket('+Inf')).toBe(1);
    expect(text).toContain('# TYPE multi_mcp_relay_duration_seconds histogram');
  }, 30_000);

  it('drops the series of a removed backend', async () => {
    expect((await h.call('DELETE', '/mcp_servers/fragile')).status).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await (await h.call('GET', '/metrics')).text()).not.toContain('backend="fragile"');
  });
});
