import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('health', () => {
  it('is live at once, ready only once startup backends have settled', async () => {
    h = await startHarness();
    expect((await h.call('GET', '/healthz')).status).toBe(200);

    // The backend stays in `connecting` until the test opens its gate: no race with its start-up.
    const gate = join(mkdtempSync(join(tmpdir(), 'multi-mcp-gate-')), 'open');
    await h.call('PUT', '/mcp_servers/calc', fixtureServer('gated.ts', gate, 'calculator.ts'));
    const before = await h.call('GET', '/readyz');
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({ status: 'starting', backends: { calc: 'connecting' } });

    writeFileSync(gate, '');
    await h.proxy.markReadyWhenSettled(20_000);
    const after = await h.call('GET', '/readyz');
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ status: 'ready', backends: { calc: 'ready' } });
  }, 30_000);
});

describe('metrics', () => {
  it('exposes backend, session and request metrics in Prometheus text', async () => {
    h = await startHarness();
    await h.call('PUT', '/mcp_servers/calc', fixtureServer('calculator.ts'));
    await h.call('PUT', '/mcp_servers/off', { command: 'node', disabled: true });
    await h.proxy.markReadyWhenSettled(20_000);
    await h.call('GET', '/mcp_servers/nope');

    const response = await h.call('GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('multi_mcp_backends{state="ready"} 1');
    expect(text).toContain('multi_mcp_backends{state="stopped"} 1');
    expect(text).toContain('multi_mcp_backend_up{backend="calc"} 1');
    expect(text).toContain('multi_mcp_backend_up{backend="off"} 0');
    expect(text).toContain('multi_mcp_backend_tools{backend="calc"} 4');
    expect(text).toContain('multi_mcp_backend_restarts_total{backend="calc"} 0');
    expect(text).toContain('multi_mcp_sessions{kind="streamable-http"} 0');
    expect(text).toContain('multi_mcp_sessions{kind="sse"} 0');
    expect(text).toMatch(
      /multi_mcp_http_requests_total\{route="\/mcp_servers\/:name",method="GET",status="404"\} 1/,
    );
    expect(text).toContain('multi_mcp_http_request_duration_seconds_bucket');
  }, 30_000);

  it('counts POST /mcp, /mcp/<name> and /messages (run without the router) under their route patterns', async () => {
    h = await startHarness();
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    // Refused by the route's own chain: no session (400), a JSON body too big (413), an unknown view (404).
    expect(
      (await h.call('POST', '/mcp', ping, { accept: 'application/json, text/event-stream' })).status,
    ).toBe(400);
    expect((await h.call('POST', '/mcp', { pad: 'x'.repeat(5 * 1024 * 1024) })).status).toBe(413);
    expect((await h.call('POST', '/mcp/nope', ping)).status).toBe(404);
    expect((await h.call('POST', '/mcp/nope?x=1', ping)).status).toBe(404);
    expect((await h.call('POST', '/messages', ping)).status).toBe(400);
    const text = await h.call('GET', '/metrics').then((r) => r.text());
    expect(text).toContain('multi_mcp_http_requests_total{route="/mcp",method="POST",status="400"} 1');
    expect(text).toContain('multi_mcp_http_requests_total{route="/mcp",method="POST",status="413"} 1');
    expect(text).toContain('multi_mcp_http_requests_total{route="/mcp/:name",method="POST",status="404"} 2');
    expect(text).toContain('multi_mcp_http_requests_total{route="/messages",method="POST",status="400"} 1');
  });

  it('keeps one registry per front door, so two can run side by side', async () => {
    h = await startHarness();
    const other = await startHarness();
    try {
      await h.call('PUT', '/mcp_servers/only_here', { command: 'node', disabled: true });
      expect((await other.call('GET', '/metrics')).status).toBe(200);
      expect((await h.call('GET', '/metrics')).status).toBe(200);
      // Each front door counts its own requests and reports its own backends.
      const scrape = '/metrics",method="GET",status="200"}';
      const mine = await h.call('GET', '/metrics').then((r) => r.text());
      const theirs = await other.call('GET', '/metrics').then((r) => r.text());
      expect(mine).toContain(`multi_mcp_http_requests_total{route="${scrape} 1`);
      expect(mine).toContain(
        'multi_mcp_http_requests_total{route="/mcp_servers/:name",method="PUT",status="201"} 1',
      );
      expect(mine).toContain('multi_mcp_backend_up{backend="only_here"} 0');
      expect(mine).toContain('multi_mcp_backends{state="stopped"} 1');
      expect(theirs).toContain(`multi_mcp_http_requests_total{route="${scrape} 1`);
      expect(theirs).not.toContain('only_here');
      expect(theirs).not.toContain('method="PUT"');
      expect(theirs).toContain('multi_mcp_backends{state="stopped"} 0');
    } finally {
      await other.close();
    }
  });
});
