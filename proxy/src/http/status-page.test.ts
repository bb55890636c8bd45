import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createStatusPage } from './status-page.js';
import { StatusSummarySchema } from './status-summary.js';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('status page', () => {
  it('serves the page at / and /ui with a policy that runs only its own script', async () => {
    harness = await startHarness();
    for (const path of ['/', '/ui']) {
      const res = await harness.call('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[^']+'/);
      expect(await res.text()).toContain('<title>multi-mcp status</title>');
    }
  });

  it('summarises backends with secrets masked, in the schema the page reads', async () => {
    harness = await startHarness();
    await harness.proxy.registry.upsert('api', 'calc', {
      ...fixtureServer('calculator.ts'),
      env: { API_KEY: 'sk-secret-value' },
    });
    await harness.proxy.markReadyWhenSettled(20_000);
    const res = await harness.call('GET', '/ui/status.json');
    expect(res.status).toBe(200);
    const raw = await res.text();
    expect(raw).not.toContain('sk-secret-value');
    const summary = StatusSummarySchema.parse(JSON.parse(raw));
    const calc = summary.backends.find((b) => b.name === 'calc');
    expect(calc?.state).toBe('ready');
    expect(calc?.tools.map((t) => t.name)).toContain('calc__add');
    expect(calc?.tools.find((t) => t.name === 'calc__add')?.description).toBe('Add two numbers: a + b');
    expect(calc?.counts.tools).toBe(calc?.tools.length);
    expect(summary.sessions.sessionful).toEqual({ 'streamable-http': 0, sse: 0 });
  });

  it('summarises virtual servers with what their clients see and the backends they miss', async () => {
    harness = await startHarness();
    await harness.proxy.registry.upsert('api', 'calc', fixtureServer('calculator.ts'));
    harness.proxy.virtualServers.upsert('api', 'team', {
      backends: ['calc', 'ghost'],
      tools: { include: ['calc__add', 'calc__subtract'] },
      scopes: ['mcp:team'],
    });
    harness.proxy.virtualServers.upsert('api', 'everything', {});
    await harness.proxy.markReadyWhenSettled(20_000);
    const summary = StatusSummarySchema.parse(await (await harness.call('GET', '/ui/status.json')).json());
    const byName = new Map(summary.virtualServers.map((v) => [v.name, v]));
    expect(byName.get('team')).toEqual({
      name: 'team',
      owner: 'api',
      endpoint: '/mcp/team',
      backends: ['calc', 'ghost'],
      missingBackends: ['ghost'],
      // The tool globs pick tools; calc's one prompt and one resource come through.
      counts: { tools: 2, prompts: 1, resources: 1 },
      scopes: ['mcp:team'],
      claims: [],
    });
    const calc = summary.backends.find((b) => b.name === 'calc');
    expect(byName.get('everything')?.backends).toBeNull();
    expect(byName.get('everything')?.counts.tools).toBe(calc?.counts.tools);
    expect(byName.get('everything')?.counts.prompts).toBe(calc?.counts.prompts);
  });

  it('guards the data like the admin API; the data-free page loads and asks for the token', async () => {
    harness = await startHarness({ adminToken: 'right' });
    expect((await harness.call('GET', '/')).status).toBe(200);
    const missing = await harness.call('GET', '/ui/status.json');
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toContain('Authorization: Bearer');
    const wrong = await harness.call('GET', '/ui/status.json', undefined, { authorization: 'Bearer wrong' });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toContain(
      'is not the one multi-mcp was started with',
    );
    const right = await harness.call('GET', '/ui/status.json', undefined, { authorization: 'Bearer right' });
    expect(right.status).toBe(200);
  });

  it('is refused, page and data, where the admin API is disabled (beyond loopback without a token)', async () => {
    harness = await startHarness();
    // The access rule as a bind on 0.0.0.0 without a token would have it; served on loopback for the test.
    const app = express().use(
      createStatusPage(harness.proxy, {
        guards: [(_req, res) => void res.status(403).json({ error: 'admin API disabled' })],
        access: { host: '0.0.0.0' },
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(403);
      expect(((await page.json()) as { error: string }).error).toContain('--admin-token');
      expect((await fetch(`${base}/ui/status.json`)).status).toBe(403);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
