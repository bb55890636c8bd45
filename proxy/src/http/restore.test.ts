import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionSeal } from './seal.js';
import { createSessionSeal } from './seal.js';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

// Two front doors with one session key: a session opened on one is served by the other.

const ACCEPT = { accept: 'application/json, text/event-stream' };
const PROTOCOL = '2025-11-25';
const CLIENT = { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } };

interface Answer {
  status: number;
  sessionId: string | null;
  /** JSON-RPC messages of the body (SSE `data:` lines, or the JSON body). */
  messages: { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } }[];
}

async function post(h: Harness, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await h.call('POST', '/mcp', body, { ...ACCEPT, ...headers });
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('application/json');
  const messages = json
    ? [JSON.parse(text)]
    : text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => JSON.parse(line.slice(5)));
  return { status: response.status, sessionId: response.headers.get('mcp-session-id'), messages };
}

async function initialize(h: Harness, params: unknown = CLIENT): Promise<string> {
  const answer = await post(h, { jsonrpc: '2.0', id: 1, method: 'initialize', params });
  expect(answer.status).toBe(200);
  expect(answer.sessionId).toBeTruthy();
  const id = answer.sessionId as string;
  const initialized = await post(h, { jsonrpc: '2.0', method: 'notifications/initialized' }, session(id));
  expect(initialized.status).toBe(202);
  return id;
}

function session(id: string): Record<string, string> {
  return { 'mcp-session-id': id, 'mcp-protocol-version': PROTOCOL };
}

const call = (id: number, method: string, params: unknown = {}): unknown => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});

async function metric(h: Harness, line: RegExp): Promise<number> {
  const text = await (await h.call('GET', '/metrics')).text();
  const match = text.split('\n').find((l) => line.test(l));
  return match ? Number(match.split(' ').at(-1)) : NaN;
}

const restored = (h: Harness): Promise<number> => metric(h, /^multi_mcp_sessions_restored_total /);
const failures = (h: Harness, reason: string): Promise<number> =>
  metric(h, new RegExp(`^multi_mcp_session_restore_failures_total\\{reason="${reason}"\\}`));
const openSessions = (h: Harness): Promise<number> =>
  metric(h, /^multi_mcp_sessions\{kind="streamable-http"\}/);

describe('sessions any replica can serve', () => {
  let seal: SessionSeal;
  let first: Harness;
  let second: Harness;
  let keyless: Harness;

  beforeAll(async () => {
    seal = createSessionSeal([randomBytes(32)]);
    [first, second, keyless] = await Promise.all([
      startHarness({ sessionSeal: seal }),
      startHarness({ sessionSeal: seal }),
      startHarness(),
    ]);
    for (const h of [first, second]) {
      const added = await h.call('PUT', '/mcp_servers/calc', fixtureServer('calculator.ts'));
      expect(added.status).toBe(201);
    }
    await Promise.all([first, second, keyless].map((h) => h.proxy.markReadyWhenSettled(20_000)));
    expect(second.proxy.registry.get('calc')?.state).toBe('ready');
  }, 30_000);

  afterAll(async () => {
    await Promise.all([first, second, keyless].map((h) => h?.close()));
  });

  it('serves a session opened on another replica, from the id alone', async () => {
    const id = await initialize(first);
    expect(seal.open(id)).toEqual({ ok: true, handshake: CLIENT });
    const before = await restored(second);

    const listed = await post(second, call(2, 'tools/list'), session(id));
    expect(listed.status).toBe(200);
    expect(listed.sessionId).toBe(id);
    const tools = (listed.messages[0]?.result?.['tools'] ?? []) as { name: string }[];
    expect(tools.map((t) => t.name)).toContain('calc__add');

    const added = await post(
      second,
      call(3, 'tools/call', { name: 'calc__add', arguments: { a: 2, b: 3 } }),
      session(id),
    );
    expect(added.messages[0]?.result?.['content']).toEqual([{ type: 'text', text: '5' }]);
    expect(await restored(second)).toBe(before + 1);
  });

  it('rebuilds one session for concurrent first requests with the same id', async () => {
    const id = await initialize(first);
    const open = await openSessions(second);
    const before = await restored(second);
    const answers = await Promise.all(
      [10, 11, 12].map((n) => post(second, call(n, 'tools/list'), session(id))),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(await restored(second)).toBe(before + 1);
    expect(await openSessions(second)).toBe(open + 1);
  });

  it('answers 404 for a tampered id, an id sealed with another key, and on a replica with no key', async () => {
    const id = await initialize(first);
    const tampered = Buffer.from(id, 'base64url');
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0x40;
    const foreign = createSessionSeal([randomBytes(32)]).seal(CLIENT);
    const authFailed = await failures(second, 'auth_failed');

    for (const bad of [tampered.toString('base64url'), foreign]) {
      const answer = await post(second, call(4, 'tools/list'), session(bad));
      expect(answer.status).toBe(404);
      expect(answer.messages[0]?.error?.code).toBe(-32001);
      expect(answer.messages[0]?.error?.message).toContain('start a new session with initialize');
    }
    expect(await failures(second, 'auth_failed')).toBe(authFailed + 2);

    const unsealed = await post(
      second,
      call(5, 'tools/list'),
      session('6f1c0a52-6a0e-4a8e-9d43-3f1c5d1f2b7e'),
    );
    expect(unsealed.status).toBe(404);
    expect(await failures(second, 'malformed')).toBeGreaterThanOrEqual(1);

    // Without a key, behaviour is as it always was: an id this process did not issue is unknown.
    const withoutKey = await post(keyless, call(6, 'tools/list'), session(id));
    expect(withoutKey.status).toBe(404);
    expect(withoutKey.messages[0]?.error?.code).toBe(-32001);
    expect(await keyless.call('GET', '/metrics').then((r) => r.text())).toContain(
      'multi_mcp_sessions_restored_total 0',
    );
  });

  it('does not restore on this replica a session the client ended with DELETE', async () => {
    const id = await initialize(first);
    const deleted = await second.call('DELETE', '/mcp', undefined, session(id));
    expect(deleted.status).toBe(200);
    const after = await post(second, call(7, 'tools/list'), session(id));
    expect(after.status).toBe(404);
    expect(after.messages[0]?.error?.message).toContain('terminated by the client');
    expect(await failures(second, 'terminated')).toBe(1);
  });

  it('refuses to restore when this replica would negotiate another protocol version', async () => {
    const older = seal.seal({ ...CLIENT, protocolVersion: '2025-06-18' });
    const answer = await post(second, call(8, 'tools/list'), session(older));
    expect(answer.status).toBe(404);
    expect(answer.messages[0]?.error?.message).toContain('negotiates 2025-06-18');
    expect(await failures(second, 'protocol_version')).toBe(1);
    // The same id with the version the client really negotiated is served.
    const matching = await post(second, call(9, 'tools/list'), {
      'mcp-session-id': older,
      'mcp-protocol-version': '2025-06-18',
    });
    expect(matching.status).toBe(200);
  });

  it('counts restored sessions against --max-sessions', async () => {
    const full = await startHarness({ sessionSeal: seal, maxSessions: 2 });
    const streams = new AbortController();
    try {
      await full.proxy.markReadyWhenSettled(1_000);
      // Both sessions busy (their GET streams open), so none can make room.
      for (let i = 0; i < 2; i++) {
        const own = await initialize(full);
        const stream = await fetch(`${full.url}/mcp`, {
          headers: { accept: 'text/event-stream', ...session(own) },
          signal: streams.signal,
        });
        expect(stream.status).toBe(200);
      }
      const answer = await post(full, call(13, 'tools/list'), session(await initialize(first)));
      expect(answer.status).toBe(503);
      expect(answer.messages[0]?.error?.message).toContain('maxSessions=2');
      expect(await restored(full)).toBe(0);
    } finally {
      streams.abort();
      await full.close();
    }
  });

  it('sweeps an idle restored session like any other, and restores it again on its next request', async () => {
    const idle = await startHarness({ sessionSeal: seal, sessionIdleMs: 200 });
    try {
      await idle.proxy.markReadyWhenSettled(1_000);
      const id = await initialize(first);
      expect((await post(idle, call(14, 'tools/list'), session(id))).status).toBe(200);
      expect(await openSessions(idle)).toBe(1);
      const deadline = Date.now() + 5_000;
      while ((await openSessions(idle)) > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await openSessions(idle)).toBe(0);
      expect((await post(idle, call(15, 'tools/list'), session(id))).status).toBe(200);
      expect(await restored(idle)).toBe(2);
    } finally {
      await idle.close();
    }
  });
});
