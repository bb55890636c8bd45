import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as V1SseTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

// Real clients over real HTTP against a real proxy with a real stdio backend.

const SUM = { name: 'calc__add', arguments: { a: 2, b: 3 } };

/** Resolves with `promise`, or rejects after `ms` naming what did not happen. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `probe` until it holds, or fails after `ms` naming what did not happen. */
async function waitFor(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function textOf(result: unknown): string | undefined {
  const content = (result as { content?: { type: string; text?: string }[] }).content;
  return content?.[0]?.text;
}

describe('/mcp and /sse with real clients', () => {
  let h: Harness;
  const clients: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    h = await startHarness();
    const response = await h.call('POST', '/mcp_servers', {
      mcpServers: { calc: fixtureServer('calculator.ts') },
    });
    expect(response.status).toBe(200);
    await h.proxy.markReadyWhenSettled(20_000);
    expect(h.proxy.registry.get('calc')?.state).toBe('ready');
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await h?.close();
  });

  it('serves a v2 client on 2026-07-28 statelessly', async () => {
    const client = new Client(
      { name: 'v2-modern', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' } },
    );
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${h.url}/mcp`)));
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('calc__add');
    expect(textOf(await client.callTool(SUM))).toBe('5');
  });

  it('answers an unknown 2026-07-28 method with HTTP 404 and -32601, a relayed call with 200', async () => {
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const post = (method: string, params: Record<string, unknown>) =>
      fetch(`${h.url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': method,
          ...(typeof params.name === 'string' && { 'mcp-name': params.name }),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: meta } }),
      });
    const unknown = await post('unknown/method', {});
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ id: 7, error: { code: -32601 } });
    const call = await post('tools/call', SUM);
    expect(call.status).toBe(200);
    expect(textOf(((await call.json()) as { result: unknown }).result)).toBe('5');
  });

  it("delivers a backend's resource updates to every 2026-07-28 listen stream that asked for the URI", async () => {
    // A 2025-era backend: the proxy subscribes it with resources/subscribe for the listen streams.
    const added = await h.call('PUT', '/mcp_servers/watch', fixtureServer('watched.ts', '--legacy'));
    expect(added.status).toBe(201);
    const A = 'test://watched/a';
    const B = 'test://watched/b';
    const listener = async (uris: string[]) => {
      const client = new Client(
        { name: 'v2-listen', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      clients.push(client);
      const heard: string[] = [];
      let first: () => void = () => {};
      const firstHeard = new Promise<void>((resolve) => (first = resolve));
      client.setNotificationHandler('notifications/resources/updated', (n) => {
        heard.push(n.params.uri);
        first();
      });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${h.url}/mcp`)));
      const subscription = await client.listen({ resourceSubscriptions: uris });
      return { client, heard, firstHeard, subscription };
    };
    const one = await listener([A]);
    await waitFor(
      async () => (await one.client.listTools()).tools.some((t) => t.name === 'watch__touch'),
      20_000,
      'the watched backend in the catalog',
    );
    const two = await listener([A]);
    const other = await listener([B]);
    // Only what listen streams asked for reached the backend: A then B, each once.
    const touched = await one.client.callTool({ name: 'watch__touch', arguments: {} });
    expect(textOf(touched)).toBe(`${A},${B}`);
    await within(5_000, 'the update on the first stream', one.firstHeard);
    await within(5_000, 'the update on the second stream', two.firstHeard);
    await within(5_000, 'the update on the other stream', other.firstHeard);
    expect(one.heard).toEqual([A]);
    expect(two.heard).toEqual([A]);
    expect(other.heard).toEqual([B]);
    // Closing the streams releases the backend's subscriptions.
    await Promise.all([one, two, other].map((l) => l.subscription.close()));
    await waitFor(
      async () => {
        const result = await one.client.callTool({ name: 'watch__touch', arguments: {} });
        return textOf(result) === 'none subscribed';
      },
      5_000,
      'the backend unsubscribed',
    );
  }, 30_000);

  it("delivers a backend's tools list_changed to every 2026-07-28 listen stream that asked for it", async () => {
    const added = await h.call('PUT', '/mcp_servers/grow', fixtureServer('watched.ts'));
    expect(added.status).toBe(201);
    const listener = async (filter: { toolsListChanged?: boolean; promptsListChanged?: boolean }) => {
      const client = new Client(
        { name: 'v2-listen', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      clients.push(client);
      let heard = 0;
      let first: () => void = () => {};
      const firstHeard = new Promise<void>((resolve) => (first = resolve));
      const count = () => {
        heard++;
        first();
      };
      client.setNotificationHandler('notifications/tools/list_changed', count);
      client.setNotificationHandler('notifications/prompts/list_changed', count);
      await client.connect(new StreamableHTTPClientTransport(new URL(`${h.url}/mcp`)));
      await waitFor(
        async () => (await client.listTools()).tools.some((t) => t.name === 'grow__grow'),
        20_000,
        'the growing backend in the catalog',
      );
      const subscription = await client.listen(filter);
      return { client, heard: () => heard, firstHeard, subscription };
    };
    const one = await listener({ toolsListChanged: true });
    const two = await listener({ toolsListChanged: true });
    const promptsOnly = await listener({ promptsListChanged: true });
    expect(textOf(await one.client.callTool({ name: 'grow__grow', arguments: {} }))).toBe('grown-1');
    await within(10_000, 'list_changed on the first stream', one.firstHeard);
    await within(5_000, 'list_changed on the second stream', two.firstHeard);
    // Fanned out in one synchronous publish: had the prompts-only stream got it, it would be here too.
    expect(promptsOnly.heard()).toBe(0);
    expect((await two.client.listTools()).tools.map((t) => t.name)).toContain('grow__grown-1');
    await Promise.all([one, two, promptsOnly].map((l) => l.subscription.close()));
  }, 30_000);

  it('serves a v2 client on the 2025 era with a session', async () => {
    const client = new Client({ name: 'v2-legacy', version: '1.0.0' });
    clients.push(client);
    const transport = new StreamableHTTPClientTransport(new URL(`${h.url}/mcp`));
    await client.connect(transport);
    expect(transport.sessionId).toBeTruthy();
    expect(textOf(await client.callTool(SUM))).toBe('5');
  });

  it('serves a v1 client over Streamable HTTP and over SSE', async () => {
    const overHttp = new V1Client({ name: 'v1-http', version: '1.0.0' });
    const overSse = new V1Client({ name: 'v1-sse', version: '1.0.0' });
    clients.push(overHttp, overSse);
    await overHttp.connect(new V1HttpTransport(new URL(`${h.url}/mcp`)));
    await overSse.connect(new V1SseTransport(new URL(`${h.url}/sse`)));
    expect(textOf(await overHttp.callTool(SUM))).toBe('5');
    expect(textOf(await overSse.callTool(SUM))).toBe('5');
  });

  it('serves the v2 client over legacy SSE', async () => {
    const client = new Client({ name: 'v2-sse', version: '1.0.0' });
    clients.push(client);
    await client.connect(new SSEClientTransport(new URL(`${h.url}/sse`)));
    expect(textOf(await client.callTool(SUM))).toBe('5');
  });

  it('tells every kind of session when a backend is added through the admin API', async () => {
    const overHttp = new V1Client({ name: 'v1-http', version: '1.0.0' });
    const overSse = new V1Client({ name: 'v1-sse', version: '1.0.0' });
    const modern = new Client(
      { name: 'v2-modern', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' } },
    );
    clients.push(overHttp, overSse, modern);
    const heard = (client: V1Client): Promise<void> =>
      new Promise((resolve) =>
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
      );
    const httpHeard = heard(overHttp);
    const sseHeard = heard(overSse);
    const modernHeard = new Promise<void>((resolve) =>
      modern.setNotificationHandler('notifications/tools/list_changed', () => resolve()),
    );
    // The v1 Streamable HTTP client opens its GET stream after initialize, on its own time: the
    // notification can only reach it once the proxy has answered that GET.
    let streamOpen: () => void = () => {};
    const streamOpened = new Promise<void>((resolve) => (streamOpen = resolve));
    const watchingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'GET' && response.ok) streamOpen();
      return response;
    };
    await overHttp.connect(new V1HttpTransport(new URL(`${h.url}/mcp`), { fetch: watchingFetch }));
    await overSse.connect(new V1SseTransport(new URL(`${h.url}/sse`)));
    await modern.connect(new StreamableHTTPClientTransport(new URL(`${h.url}/mcp`)));
    const subscription = await modern.listen({ toolsListChanged: true });
    await within(10_000, 'the v1 client’s GET stream opening', streamOpened);

    const added = await h.call('PUT', '/mcp_servers/alpha', fixtureServer('echo-named.ts', 'alpha'));
    expect(added.status).toBe(201);
    await within(20_000, 'list_changed over Streamable HTTP', httpHeard);
    await within(5_000, 'list_changed over SSE', sseHeard);
    await within(5_000, 'list_changed on the 2026 subscription stream', modernHeard);
    await subscription.close();

    const tools = await overSse.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('alpha__echo');
    const echoed = await overHttp.callTool({ name: 'alpha__echo', arguments: { message: 'hi' } });
    expect(textOf(echoed)).toBe('alpha: hi');
  }, 30_000);

  it('answers an unknown session id with 404 and a JSON-RPC error', async () => {
    const response = await h.call(
      'POST',
      '/mcp',
      { jsonrpc: '2.0', id: 7, method: 'tools/list' },
      {
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'no-such-session',
        'mcp-protocol-version': '2025-06-18',
      },
    );
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: number; message: string }; id: unknown };
    expect(body.error.code).toBe(-32001);
    expect(body.error.message).toContain('no-such-session');
    expect(body.id).toBe(7);

    const sse = await h.call('POST', '/messages?sessionId=nope', { jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(sse.status).toBe(404);
  });

  it('ends a session on DELETE, and the session id is then unknown', async () => {
    const client = new V1Client({ name: 'v1-delete', version: '1.0.0' });
    const transport = new V1HttpTransport(new URL(`${h.url}/mcp`));
    await client.connect(transport);
    const id = transport.sessionId;
    expect(id).toBeTruthy();
    await transport.terminateSession();
    await client.close();
    const after = await h.call(
      'POST',
      '/mcp',
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      {
        accept: 'application/json, text/event-stream',
        'mcp-session-id': id ?? '',
      },
    );
    expect(after.status).toBe(404);
  });

  it('answers malformed JSON with a JSON-RPC parse error and keeps serving', async () => {
    const survivor = new V1Client({ name: 'survivor', version: '1.0.0' });
    clients.push(survivor);
    const transport = new V1HttpTransport(new URL(`${h.url}/mcp`));
    await survivor.connect(transport);

    const broken = await h.call('POST', '/mcp', '{"jsonrpc": "2.0", "id": 1, "method": ', {
      accept: 'application/json, text/event-stream',
      'mcp-session-id': transport.sessionId ?? '',
    });
    expect(broken.status).toBe(400);
    const body = (await broken.json()) as { jsonrpc: string; error: { code: number } };
    expect(body).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });

    const garbage = await h.call(
      'POST',
      '/mcp',
      { not: 'json-rpc' },
      { accept: 'application/json, text/event-stream' },
    );
    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(garbage.status).toBeLessThan(500);
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: expect.stringContaining('not a valid JSON-RPC message') },
    });

    expect(textOf(await survivor.callTool(SUM))).toBe('5');
  });
});
