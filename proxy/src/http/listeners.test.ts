import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNaming } from '../catalog/names.js';
import { ConfigError } from '../config/errors.js';
import { silentLogger } from '../log.js';
import { createProxy } from '../proxy.js';
import { startHttpFrontDoor } from './server.js';
import type { Harness } from './testing.js';
import { defaultHttpOptions, startHarness } from './testing.js';

// The admin API on its own listener (--admin-port): the MCP port can then face clients without
// carrying the API that starts processes.

describe('front door with an admin listener', () => {
  let h: Harness;
  let admin: string;
  const get = (base: string, path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });

  beforeAll(async () => {
    h = await startHarness({ admin: { host: '127.0.0.1', port: 0 } });
    admin = h.frontDoor.adminUrl;
    await h.proxy.markReadyWhenSettled(1_000);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('listens on two ports', () => {
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(admin).not.toBe(h.url);
  });

  it('answers the admin routes and /metrics with 404 on the MCP port, saying where they are', async () => {
    for (const path of ['/mcp_servers', '/mcp_servers/x', '/mcp_tools', '/metrics']) {
      const response = await get(h.url, path);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: string }).error).toContain('--admin-port');
    }
    const put = await h.call('PUT', '/mcp_servers/x', { command: 'node', disabled: true });
    expect(put.status).toBe(404);
    expect(h.proxy.registry.get('x')).toBeUndefined();
  });

  it('serves them on the admin port', async () => {
    const put = await fetch(`${admin}/mcp_servers/x`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'node', disabled: true }),
    });
    expect(put.status).toBe(201);
    expect(
      ((await (await get(admin, '/mcp_servers')).json()) as { active_servers: string[] }).active_servers,
    ).toEqual(['x']);
    expect((await get(admin, '/mcp_tools')).status).toBe(200);
    expect(await (await get(admin, '/metrics')).text()).toContain('multi_mcp_backends');
  });

  it('answers /healthz and /readyz on both (kubelet probes hit the MCP port)', async () => {
    for (const base of [h.url, admin]) {
      expect((await get(base, '/healthz')).status, base).toBe(200);
      const ready = await get(base, '/readyz');
      expect(ready.status, base).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
    }
  });

  it('serves no MCP on the admin port', async () => {
    const response = await h.call('POST', '/mcp', {}, {});
    expect(response.status).not.toBe(404);
    await response.body?.cancel();
    const onAdmin = await fetch(`${admin}/mcp`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    expect(onAdmin.status).toBe(404);
  });
});

describe('an admin API beyond loopback without a token', () => {
  // Nothing here binds beyond loopback: the refusal comes before any listen, and 198.18.0.1 (a
  // benchmarking range on no interface here) could not be bound anyway.
  it.each([
    ['on the MCP listener', { host: '198.18.0.1' }],
    ['on its own listener', { admin: { host: '198.18.0.1', port: 0 } }],
  ])('refuses to start %s, saying how to fix it', async (_where, options) => {
    const proxy = createProxy({ log: silentLogger, naming: defaultNaming });
    try {
      const error = (await startHttpFrontDoor(proxy, silentLogger, {
        ...defaultHttpOptions,
        ...options,
      }).catch((e: unknown) => e)) as ConfigError;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.summary).toContain('198.18.0.1');
      expect(error.issues.join('\n')).toContain('--admin-token-file');
      expect(error.issues.join('\n')).toContain('--admin-port');
    } finally {
      await proxy.close();
    }
  });
});
