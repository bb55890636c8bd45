import { Client, InMemoryTransport, ProtocolError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNaming } from '../catalog/names.js';
import type { BackendSpec } from '../config/contract.js';
import { createLogger } from '../log.js';
import type { Proxy } from '../proxy.js';
import { createProxy } from '../proxy.js';
import { withFastPath } from './fastpath.js';

// Real backends (the repo's example servers over stdio) behind the real gateway; only the
// client↔proxy hop is in memory here — the front doors have their own tests over real transports.
const root = new URL('../../../', import.meta.url).pathname;
const fixture = (file: string, ...args: string[]): BackendSpec => ({
  command: process.execPath,
  args: ['--import', 'tsx', `test/fixtures/servers/${file}`, ...args],
  cwd: root,
});

async function connect(proxy: Proxy): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const { server, relayedFor } = proxy.gateway.createSession('stdio');
  await server.connect(withFastPath(serverSide, relayedFor));
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

const BETA_TIMEOUT_MS = 8_000;

describe('gateway over real stdio backends', () => {
  let proxy: Proxy;
  let client: Client;

  const logLines: string[] = [];

  beforeAll(async () => {
    proxy = createProxy({ log: createLogger('info', (line) => logLines.push(line)), naming: defaultNaming });
    await proxy.registry.sync('file', {
      calculator: fixture('calculator.ts'),
      // Names unchanged, and only the tools the filter lets through.
      plain: { ...fixture('unit-converter.ts'), prefix: '' },
      filtered: { ...fixture('calculator.ts'), tools: { include: ['add', 'sub*'], exclude: ['subtract'] } },
      weather: fixture('weather.ts'),
      alpha: fixture('echo-named.ts', 'alpha'),
      // A request timeout short enough that failing only by timing out would fail the test.
      beta: { ...fixture('echo-named.ts', 'beta'), timeoutMs: BETA_TIMEOUT_MS },
      broken: fixture('crash-at-start.ts'),
      silent: { ...fixture('never-initializes.ts'), connectTimeoutMs: 1500 },
    });
    await proxy.markReadyWhenSettled(20_000);
    client = await connect(proxy);
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await proxy?.close();
  });

  it('lists every healthy backend’s tools under <backend>__<tool>', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['calculator__add', 'weather__get_forecast', 'alpha__echo', 'beta__echo']),
    );
    expect(names.some((n) => n.startsWith('broken__') || n.startsWith('silent__'))).toBe(false);
  });

  it('exposes names unchanged with an empty prefix and applies tool filters', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('convert');
    expect(names.filter((n) => n.startsWith('filtered__'))).toEqual(['filtered__add']);
    const result = await client.callTool({ name: 'convert', arguments: { value: 1, from: 'km', to: 'm' } });
    expect(JSON.stringify(result.content)).toContain('1000');
    expect(result.content).toEqual([{ type: 'text', text: '1 km = 1000 m' }]);
    expect(result.structuredContent).toEqual({ value: 1000, unit: 'm', category: 'length' });
  });

  it('logs each backend’s stderr tagged with the backend name', () => {
    const line = logLines.find((l) => l.includes('crash-at-start: failing on purpose'));
    expect(line).toMatch(/backend=broken/);
    expect(line).toMatch(/stream=stderr/);
  });

  it('routes the same tool name on two backends to each backend', async () => {
    const alpha = await client.callTool({ name: 'alpha__whoami', arguments: {} });
    const beta = await client.callTool({ name: 'beta__whoami', arguments: {} });
    expect(alpha.structuredContent).toEqual({ name: 'alpha' });
    expect(beta.structuredContent).toEqual({ name: 'beta' });
  });

  it('passes a backend’s isError result through as data', async () => {
    const result = await client.callTool({ name: 'calculator__divide', arguments: { a: 1, b: 0 } });
    expect(result.isError).toBe(true);
  });

  it('answers an unknown tool with a protocol error naming it', async () => {
    const error = await client.callTool({ name: 'nope__tool', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toContain('"nope__tool"');
  });

  it('reports failed backends with their reason and keeps serving the rest', () => {
    const broken = proxy.registry.get('broken');
    const silent = proxy.registry.get('silent');
    // Failed backends retry with backoff, so between attempts they are 'failed' or 'connecting'.
    expect(['failed', 'connecting']).toContain(broken?.state);
    expect(['failed', 'connecting']).toContain(silent?.state);
    expect(broken?.error).toBeDefined();
    expect(silent?.error).toMatch(/did not answer within 1500 ms/);
    expect(proxy.registry.get('calculator')?.state).toBe('ready');
  });

  it('fails a call in flight promptly when its backend dies, then restarts the backend', async () => {
    const started = Date.now();
    const error = await client.callTool({ name: 'beta__crash', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/backend "beta"/);
    // Promptly: on the child's exit, not when the call's own timeout runs out.
    expect(Date.now() - started).toBeLessThan(BETA_TIMEOUT_MS);
    // Meanwhile the other backends answer as before.
    const alpha = await client.callTool({ name: 'alpha__whoami', arguments: {} });
    expect(alpha.structuredContent).toEqual({ name: 'alpha' });
    // Backoff restarts it; its tools come back.
    const deadline = Date.now() + 15_000;
    while (proxy.registry.get('beta')?.state !== 'ready' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(proxy.registry.get('beta')?.restarts).toBeGreaterThanOrEqual(1);
    const beta = await client.callTool({ name: 'beta__whoami', arguments: {} });
    expect(beta.structuredContent).toEqual({ name: 'beta' });
  }, 20_000);

  it('sends tools/list_changed when a backend is added at runtime and serves its tools', async () => {
    const changed = new Promise<void>((resolve) =>
      client.setNotificationHandler('notifications/tools/list_changed', () => resolve()),
    );
    await proxy.registry.upsert('api', 'units', fixture('unit-converter.ts'));
    await changed;
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('units__convert');
    await proxy.registry.remove('units');
  }, 20_000);
});
