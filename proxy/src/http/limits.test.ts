import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_GRACE_MS } from './server.js';
import type { Harness } from './testing.js';
import { startHarness } from './testing.js';

// Session cap, idle sweep, body size, Origin and Host: what keeps a flood or a web page out.

const ACCEPT = { accept: 'application/json, text/event-stream' };
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
};

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(options: Parameters<typeof startHarness>[0]): Promise<Harness> {
  h = await startHarness(options);
  await h.proxy.markReadyWhenSettled(1_000);
  return h;
}

/** A 2025-era initialize over raw HTTP: a session with no stream left open. */
async function initialize(harness: Harness, headers: Record<string, string> = {}): Promise<Response> {
  const response = await harness.call('POST', '/mcp', INITIALIZE, { ...ACCEPT, ...headers });
  await response.text();
  return response;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A request on an open 2025-era session; 404 once the session is gone. */
async function ping(harness: Harness, id: string): Promise<number> {
  const response = await harness.call(
    'POST',
    '/mcp',
    { jsonrpc: '2.0', id: 2, method: 'ping' },
    { ...ACCEPT, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
  );
  await response.text();
  return response.status;
}

async function sessionId(harness: Harness): Promise<string> {
  const response = await initialize(harness);
  expect(response.status).toBe(200);
  const id = response.headers.get('mcp-session-id');
  if (!id) throw new Error('no session id');
  return id;
}

describe('session cap', () => {
  it('evicts the least recently used idle session to admit a new client', async () => {
    const harness = await start({ maxSessions: 3 });
    const first = await sessionId(harness);
    const second = await sessionId(harness);
    const third = await sessionId(harness);
    // The first is used again, so the second is now the least recently used.
    expect(await ping(harness, first)).toBe(200);

    const fourth = await sessionId(harness);
    expect(await ping(harness, second)).toBe(404);
    for (const id of [first, third, fourth]) expect(await ping(harness, id)).toBe(200);
    expect(harness.proxy.gateway.sessionCount()).toBe(3);
    const metrics = await harness.call('GET', '/metrics').then((r) => r.text());
    expect(metrics).toContain('multi_mcp_sessions_evicted_total 1');
  });

  it('refuses with 503 only when every session is busy, on /mcp and /sse alike', async () => {
    const harness = await start({ maxSessions: 2 });
    // Busy: one legacy SSE stream, one 2025-era session with its GET stream open.
    const streams = new AbortController();
    const sse = await fetch(`${harness.url}/sse`, { signal: streams.signal });
    expect(sse.status).toBe(200);
    const id = await sessionId(harness);
    const listening = await fetch(`${harness.url}/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
      signal: streams.signal,
    });
    expect(listening.status).toBe(200);

    try {
      const refused = await initialize(harness);
      expect(refused.status).toBe(503);
      const body = (await harness.call('POST', '/mcp', INITIALIZE, ACCEPT).then((r) => r.json())) as {
        error: { message: string };
      };
      expect(body.error.message).toContain('all 2 sessions (maxSessions=2) are busy');
      expect(body.error.message).toContain('--max-sessions');

      const sseRefused = await harness.call('GET', '/sse');
      expect(sseRefused.status).toBe(503);
      expect(((await sseRefused.json()) as { error: string }).error).toContain('maxSessions=2');
      expect(await ping(harness, id)).toBe(200);
    } finally {
      streams.abort();
    }
  });
});

/** A clock only the test moves: sessions age when it says so, however busy the machine is. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let at = Date.now();
  return { now: () => at, advance: (ms) => (at += ms) };
}

describe('idle sweep', () => {
  it('closes a session idle longer than sessionIdleMs, freeing its place under the cap', async () => {
    const clock = manualClock();
    const harness = await start({ maxSessions: 1, sessionIdleMs: 150, now: clock.now });
    const opened = await initialize(harness);
    const id = opened.headers.get('mcp-session-id');
    expect(id).toBeTruthy();

    clock.advance(151);
    // Watch from outside the session: a request on it would count as activity.
    await waitFor('idle session swept', () => harness.proxy.gateway.sessionCount() === 0);
    const after = await harness.call(
      'POST',
      '/mcp',
      { jsonrpc: '2.0', id: 2, method: 'ping' },
      {
        ...ACCEPT,
        'mcp-session-id': id ?? '',
        'mcp-protocol-version': '2025-06-18',
      },
    );
    expect(after.status).toBe(404);
    expect(harness.proxy.gateway.sessionCount()).toBe(0);
    expect((await initialize(harness)).status).toBe(200);
  });

  it('keeps a session whose stream is open, however long it is quiet', async () => {
    const clock = manualClock();
    const harness = await start({ sessionIdleMs: 100, now: clock.now });
    const controller = new AbortController();
    const stream = await fetch(`${harness.url}/sse`, { signal: controller.signal });
    expect(stream.status).toBe(200);
    // A second session with nothing open: once the sweep has taken it, the sweep has also
    // judged the quiet stream, long after its idle time.
    await initialize(harness);
    expect(harness.proxy.gateway.sessionCount()).toBe(2);
    clock.advance(10 * 100);
    await waitFor('the idle session swept', () => harness.proxy.gateway.sessionCount() === 1);
    const metrics = await harness.call('GET', '/metrics').then((r) => r.text());
    expect(metrics).toContain('multi_mcp_sessions{kind="sse"} 1');
    expect(metrics).toContain('multi_mcp_sessions{kind="streamable-http"} 0');
    controller.abort();
    await waitFor('session ends with its stream', () => harness.proxy.gateway.sessionCount() === 0);
    // close() does not wait out its grace period for sockets with nothing in flight.
    const started = Date.now();
    await harness.close();
    h = undefined;
    expect(Date.now() - started).toBeLessThan(CLOSE_GRACE_MS);
  });

  it('opens a Streamable HTTP GET stream at once, before any event or keep-alive', async () => {
    const harness = await start({});
    const init = await initialize(harness);
    const id = init.headers.get('mcp-session-id') ?? '';
    const controller = new AbortController();
    // The SDK's keep-alive comes after 15 s: headers must not wait for it.
    const opened = await Promise.race([
      fetch(`${harness.url}/mcp`, {
        headers: { accept: 'text/event-stream', 'mcp-session-id': id },
        signal: controller.signal,
      }),
      new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 2_000)),
    ]);
    controller.abort();
    expect(opened === 'waiting' ? 'no headers within 2 s' : opened.status).toBe(200);
    // The stream the client left is forgotten: a new one is not refused as a second (409).
    await waitFor('a new GET stream accepted', async () => {
      const again = new AbortController();
      const reopened = await fetch(`${harness.url}/mcp`, {
        headers: { accept: 'text/event-stream', 'mcp-session-id': id },
        signal: again.signal,
      });
      again.abort();
      return reopened.status === 200;
    });
  });
});

describe('request bodies', () => {
  it('answers a body over maxBodyBytes with 413, on MCP and admin routes', async () => {
    const harness = await start({ maxBodyBytes: 2048 });
    const big = { ...INITIALIZE, params: { ...INITIALIZE.params, padding: 'x'.repeat(4096) } };
    const mcp = await harness.call('POST', '/mcp', big, ACCEPT);
    expect(mcp.status).toBe(413);
    expect(((await mcp.json()) as { error: { message: string } }).error.message).toContain('2048 bytes');

    const admin = await harness.call('POST', '/mcp_servers', { mcpServers: {}, padding: 'x'.repeat(4096) });
    expect(admin.status).toBe(413);
    expect(((await admin.json()) as { error: string }).error).toContain('--max-body-bytes');
  });

  it('answers a body that is not JSON with 415', async () => {
    const harness = await start({});
    const response = await harness.call('POST', '/mcp', 'hello', { ...ACCEPT, 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
  });
});

describe('Origin and Host', () => {
  it('refuses a foreign Origin with 403 saying how to allow it', async () => {
    const harness = await start({});
    const response = await initialize(harness, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    const refused = await harness.call('POST', '/mcp', INITIALIZE, {
      ...ACCEPT,
      origin: 'https://evil.example',
    });
    const body = (await refused.json()) as { error: { message: string } };
    expect(body.error.message).toContain('https://evil.example');
    expect(body.error.message).toContain('--allow-origin');

    const sse = await harness.call('GET', '/sse', undefined, { origin: 'https://evil.example' });
    expect(sse.status).toBe(403);
    const admin = await harness.call('GET', '/mcp_servers', undefined, { origin: 'https://evil.example' });
    expect(admin.status).toBe(403);
  });

  it('accepts no Origin, a localhost Origin and an allowed one', async () => {
    const harness = await start({ allowedOrigins: ['https://app.example'] });
    expect((await initialize(harness)).status).toBe(200);
    expect((await initialize(harness, { origin: 'http://localhost:5173' })).status).toBe(200);
    const allowed = await initialize(harness, { origin: 'https://app.example' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('Mcp-Session-Id');
  });

  it('refuses a foreign Host header on a loopback bind (DNS rebinding)', async () => {
    const harness = await start({});
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${harness.url}/mcp_servers`,
        { headers: { host: 'rebound.example:80' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
