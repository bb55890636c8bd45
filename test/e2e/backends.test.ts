import type { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import { fixture, repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, start, startHttpProxy, stopAll, waitForOutput, waitUntil } from './support/processes.js';

// What the proxy promises about the backends behind it, checked from the backends' side: what
// environment and headers reach them, that a removed one is gone, and that a hung one holds
// nobody up.

const clients: ClientV1[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
});

async function connect(url: string): Promise<ClientV1> {
  const client = await v1Http(url);
  clients.push(client);
  return client;
}

async function structured<T>(client: ClientV1, name: string): Promise<T> {
  const result = await client.callTool({ name, arguments: {} });
  if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
  return result.structuredContent as T;
}

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const put = (proxy: RunningProxy, name: string, spec: unknown) =>
  fetch(`${proxy.url}/mcp_servers/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
    // Far below the hung server's connect timeout: a PUT that waited for it fails here.
    signal: AbortSignal.timeout(15_000),
  });

/** The SDK's safe default environment for stdio children (POSIX). */
const SAFE_ENV = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'];

describe('what reaches a backend', () => {
  let proxy: RunningProxy;
  let backendUrl: string;
  beforeAll(async () => {
    const probe = start(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/servers/probe.ts', '--http', '0'],
      {},
      repoRoot,
    );
    [, backendUrl = ''] = await waitForOutput(probe, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
    const config = writeTempFile('mcp.json', {
      mcpServers: {
        local: { ...fixture('probe.ts'), env: { GIVEN_TO_CHILD: 'from-spec' } },
        remote: {
          url: backendUrl,
          transport: 'streamable-http',
          headers: { 'X-Backend-Key': 'the-backend-own-credential' },
        },
      },
    });
    // The proxy's own environment holds a secret that must not travel to its children.
    proxy = await startHttpProxy(config, [], undefined, { MULTI_MCP_E2E_SECRET: 'proxy-only-secret' });
  }, 60_000);

  it('gives a stdio child only the safe default environment plus its spec’s env', async () => {
    const client = await connect(proxy.url);
    const { env } = await structured<{ env: Record<string, string> }>(client, 'local__env');
    const expected = SAFE_ENV.filter(
      (key) => process.env[key] !== undefined && !process.env[key]?.startsWith('()'),
    );
    expect(Object.keys(env).sort()).toEqual([...expected, 'GIVEN_TO_CHILD'].sort());
    expect(env['GIVEN_TO_CHILD']).toBe('from-spec');
    expect(env['PATH']).toBe(process.env['PATH']);
    expect(JSON.stringify(env)).not.toContain('proxy-only-secret');
  });

  it('never passes a client’s Authorization header to a backend, and sends the backend its own headers', async () => {
    const client = new Client({ name: 'with-token', version: '1.0.0' });
    clients.push(client);
    const token = 'client-secret-token-e2e';
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}`, 'X-Client-Only': token } },
      }),
    );
    await client.callTool({ name: 'remote__pid', arguments: {} });
    const { requests } = await structured<{
      requests: { method: string; headers: Record<string, string> }[];
    }>(client, 'remote__seen');
    // Every request the proxy made: initialize, lists, both calls (the probe records before answering).
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(requests.some((r) => r.method === 'POST')).toBe(true);
    for (const { headers } of requests) {
      expect(headers['authorization']).toBeUndefined();
      expect(headers['x-backend-key']).toBe('the-backend-own-credential');
    }
    expect(JSON.stringify(requests)).not.toContain(token);
  });
});

describe('removing a server at runtime', () => {
  it('drops its tools, tells clients, and ends its process', async () => {
    const proxy = await startHttpProxy(
      writeTempFile('mcp.json', { mcpServers: { calculator: fixture('calculator.ts') } }),
    );
    expect((await put(proxy, 'doomed', fixture('probe.ts'))).status).toBe(201);
    const client = await connect(proxy.url);
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === 'doomed__pid'),
      20_000,
      'doomed__pid listed',
    );
    const { pid } = await structured<{ pid: number }>(client, 'doomed__pid');
    expect(alive(pid)).toBe(true);

    const changed = new Promise<void>((resolve) =>
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    const removed = await fetch(`${proxy.url}/mcp_servers/doomed`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    await within(10_000, 'tools/list_changed after the DELETE', changed);

    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.filter((n) => n.startsWith('doomed__'))).toEqual([]);
    expect(names).toContain('calculator__add');
    await expect(client.callTool({ name: 'doomed__pid', arguments: {} })).rejects.toThrow(/doomed__pid/);
    // Stopping a child: stdin closed, then SIGTERM after 2 s, then SIGKILL after 2 s more.
    await waitUntil(async () => !alive(pid), 10_000, `process ${pid} gone`);
    expect((await fetch(`${proxy.url}/mcp_servers/doomed`)).status).toBe(404);
  }, 60_000);
});

describe('a hung server', () => {
  // Far longer than the test may take: if anything waited for it, the bounds below would fail.
  const HUNG_CONNECT_TIMEOUT_MS = 60_000;
  const BOUND_MS = HUNG_CONNECT_TIMEOUT_MS / 4;
  const hung = { ...fixture('never-initializes.ts'), connectTimeoutMs: HUNG_CONNECT_TIMEOUT_MS };

  async function usableWithin(proxy: RunningProxy, startedAt: number): Promise<number> {
    const client = await connect(proxy.url);
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === 'calculator__add'),
      BOUND_MS,
      'calculator__add listed',
    );
    const sum = await client.callTool({ name: 'calculator__add', arguments: { a: 2, b: 3 } });
    expect(sum.content).toEqual([{ type: 'text', text: '5' }]);
    return Date.now() - startedAt;
  }

  const state = async (proxy: RunningProxy, name: string) =>
    ((await fetch(`${proxy.url}/mcp_servers/${name}`).then((r) => r.json())) as { state: string }).state;

  it('does not delay a healthy one at start-up beyond --startup-timeout-ms', async () => {
    const STARTUP_TIMEOUT_MS = 3_000;
    const startedAt = Date.now();
    const config = writeTempFile('mcp.json', { mcpServers: { hung, calculator: fixture('calculator.ts') } });
    const proxy = await startHttpProxy(config, ['--startup-timeout-ms', String(STARTUP_TIMEOUT_MS)]);
    const took = await usableWithin(proxy, startedAt);
    expect(took).toBeLessThan(BOUND_MS);
    expect(await state(proxy, 'hung')).toBe('connecting');
  }, 60_000);

  it('does not delay a healthy one added at runtime, nor the admin API', async () => {
    const proxy = await startHttpProxy(writeTempFile('mcp.json', { mcpServers: {} }));
    const startedAt = Date.now();
    expect((await put(proxy, 'hung', hung)).status).toBe(201);
    expect((await put(proxy, 'calculator', fixture('calculator.ts'))).status).toBe(201);
    // The admin API answered both without waiting for either to connect.
    expect(Date.now() - startedAt).toBeLessThan(BOUND_MS);
    const took = await usableWithin(proxy, startedAt);
    expect(took).toBeLessThan(BOUND_MS);
    expect(await state(proxy, 'hung')).toBe('connecting');
  }, 60_000);
});

describe('a remote server that goes away', () => {
  const LIVENESS_MS = 500;

  it('is marked failed, naming why, within the liveness interval, and is ready again once it is back', async () => {
    // Nothing else tells the proxy: an idle Streamable HTTP connection has no request to fail.
    const port = await freePort();
    const serveCalculator = async () => {
      const server = start(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/servers/calculator.ts', '--http', String(port)],
        {},
        repoRoot,
      );
      await waitForOutput(server, /listening on http:\/\/127\.0\.0\.1:\d+\/mcp/);
      return server;
    };
    let server = await serveCalculator();
    const proxy = await startHttpProxy(writeTempFile('mcp.json', { mcpServers: {} }), [
      '--liveness-interval-ms',
      String(LIVENESS_MS),
    ]);
    expect((await put(proxy, 'calc', { url: `http://127.0.0.1:${port}/mcp` })).status).toBe(201);
    const report = async () =>
      (await fetch(`${proxy.url}/mcp_servers/calc`).then((r) => r.json())) as {
        state: string;
        error: string | null;
      };
    await waitUntil(async () => (await report()).state === 'ready', 20_000, 'calc ready');

    await server.stop();
    const stopped = Date.now();
    // One interval to the next check, plus the check's own failure (a refused connection is prompt).
    await waitUntil(async () => (await report()).state === 'failed', LIVENESS_MS + 5_000, 'calc failed');
    expect(Date.now() - stopped).toBeLessThan(LIVENESS_MS + 5_000);
    // The check's own words, or the first reconnect attempt's if that already ran.
    expect((await report()).error).toMatch(/no answer to server\/discover|ECONNREFUSED|fetch failed/);

    server = await serveCalculator();
    // Reconnects with the default backoff (0.5 s doubling): a few attempts fit in this bound.
    await waitUntil(async () => (await report()).state === 'ready', 20_000, 'calc ready again');
    expect((await report()).error).toBeNull();
  }, 60_000);
});
