import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionSeal } from '../../proxy/src/http/seal.js';
import type { Balancer } from './support/balancer.js';
import { startBalancer } from './support/balancer.js';
import { cliPath, fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { start, startHttpProxy, stopAll, waitForExit, waitUntil } from './support/processes.js';

// Two proxy processes with one session key behind a load balancer: a 2025-era session opened
// on the first keeps working on the second, also once the first is gone (SIGKILL).

const REQUEST_TIMEOUT_MS = 30_000;

let first: RunningProxy;
let second: RunningProxy;
let keyless: RunningProxy;
let balancer: Balancer;
let client: Client;
let transport: StreamableHTTPClientTransport;
const logged: string[] = [];

function textOf(result: unknown): string | undefined {
  return (result as { content?: { text?: string }[] }).content?.[0]?.text;
}

async function metric(proxy: RunningProxy, name: string): Promise<number> {
  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

/** tools/list straight to one proxy with a given session id, bypassing the client. */
function listWith(proxy: RunningProxy, sessionId: string): Promise<Response> {
  return fetch(`${proxy.url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
}

const log = (level: string, message: string): Promise<unknown> =>
  client.callTool({ name: 'logger__log', arguments: { level, message } });

beforeAll(async () => {
  const keyFile = writeTempFile('session-key', `${randomBytes(32).toString('base64')}\n`);
  const config = writeTempFile('mcp.json', {
    mcpServers: { calc: fixture('calculator.ts'), logger: fixture('logger.ts') },
  });
  const keyed = ['--session-key-file', keyFile];
  [first, second, keyless] = await Promise.all([
    startHttpProxy(config, keyed),
    startHttpProxy(config, keyed),
    startHttpProxy(writeTempFile('mcp.json', { mcpServers: {} })),
  ]);
  balancer = await startBalancer(first.url);
  client = new Client({ name: 'replicas-e2e', version: '1.0.0' });
  // Streams to a replica that dies are cut: the client reports it here and carries on.
  client.onerror = () => {};
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logged.push(String(notification.params.data));
  });
  transport = new StreamableHTTPClientTransport(new URL(`${balancer.url}/mcp`));
  await client.connect(transport);
}, 60_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  await balancer?.close();
  await stopAll();
});

describe('one session key, two replicas', () => {
  it('serves a session opened on the first replica from the second, also after the first is killed', async () => {
    const sessionId = transport.sessionId;
    expect(sessionId).toBeTruthy();
    expect(textOf(await client.callTool({ name: 'calc__add', arguments: { a: 2, b: 3 } }))).toBe('5');
    // A call still in flight on the first replica when it dies: it cannot move.
    let settledAt = 0;
    const inFlight = client
      .callTool({ name: 'logger__sleep', arguments: { ms: 60_000 } }, undefined, {
        timeout: REQUEST_TIMEOUT_MS,
      })
      .then(
        () => 'answered',
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      )
      .finally(() => (settledAt = Date.now()));
    // The GET stream and the call.
    await waitUntil(async () => balancer.open(first.url) >= 2, 10_000, 'the call reaching the first replica');

    balancer.target(second.url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['calc__add', 'logger__log']));
    expect(textOf(await client.callTool({ name: 'calc__add', arguments: { a: 4, b: 5 } }))).toBe('9');
    expect(await metric(second, 'multi_mcp_sessions_restored_total')).toBe(1);
    expect(second.output()).toMatch(/session restored from its sealed id .*client=replicas-e2e@1\.0\.0/);

    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await waitForExit(first);
    expect(textOf(await client.callTool({ name: 'calc__add', arguments: { a: 1, b: 1 } }))).toBe('2');
    expect((await client.listTools()).tools.length).toBe(tools.length);
    expect(transport.sessionId).toBe(sessionId);

    // The call that died with its replica fails at once, long before its own timeout: nothing
    // had been streamed for it, so the balancer still had to answer it (502).
    expect(await inFlight).toMatch(/Error POSTing to endpoint/);
    expect(settledAt - killedAt).toBeLessThan(REQUEST_TIMEOUT_MS / 2);
  });

  it('honours logging/setLevel on the replica that now serves the session', async () => {
    await client.setLoggingLevel('warning');
    // The client's GET stream was cut with the first replica; it reopens on the second.
    let probes = 0;
    await waitUntil(
      async () => {
        await log('error', `probe ${++probes}`);
        return logged.some((m) => m.startsWith('probe'));
      },
      15_000,
      'a log message over the GET stream reopened on the second replica',
    );

    logged.length = 0;
    await log('info', 'below the level');
    await log('error', 'at the level');
    await waitUntil(async () => logged.includes('at the level'), 5_000, 'the error-level message');
    // Messages travel in order on the one stream: had the info one been sent, it would be here.
    expect(logged).not.toContain('below the level');

    await client.setLoggingLevel('debug');
    await log('info', 'now visible');
    await waitUntil(async () => logged.includes('now visible'), 5_000, 'the info-level message');
  });

  it('answers 404 for a tampered id, an id sealed with another key, and where no key is configured', async () => {
    const sessionId = transport.sessionId ?? '';
    const bytes = Buffer.from(sessionId, 'base64url');
    bytes[20] = (bytes[20] ?? 0) ^ 0xff;
    const tampered = bytes.toString('base64url');
    const foreign = createSessionSeal([randomBytes(32)]).seal({
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'replicas-e2e', version: '1.0.0' },
    });
    const before = await metric(second, 'multi_mcp_session_restore_failures_total{reason="auth_failed"}');

    for (const id of [tampered, foreign]) {
      const answer = await listWith(second, id);
      expect(answer.status).toBe(404);
      const body = (await answer.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32001);
    }
    expect(await metric(second, 'multi_mcp_session_restore_failures_total{reason="auth_failed"}')).toBe(
      before + 2,
    );

    // The real id, on a replica without the key: unknown, as it always was.
    expect((await listWith(keyless, sessionId)).status).toBe(404);
    // And the real id still works where the key is.
    expect((await listWith(second, sessionId)).status).toBe(200);
  });
});

describe('a bad --session-key-file', () => {
  it.each([
    ['a short key', `${randomBytes(16).toString('base64')}\n`, /line 1 decodes to 16 bytes/],
    ['an empty file', '', /the file is empty/],
  ])('stops the proxy before it serves: %s', async (_what, content, message) => {
    const keyFile = writeTempFile('session-key', content);
    const proc = start(process.execPath, [
      cliPath,
      '--transport',
      'http',
      '--port',
      '0',
      '--session-key-file',
      keyFile,
    ]);
    expect(await waitForExit(proc)).toBe(2);
    expect(proc.output()).toContain(`--session-key-file ${keyFile}`);
    expect(proc.output()).toMatch(message);
    expect(proc.output()).not.toContain('listening');
  });

  it('names a key file it cannot read', async () => {
    const missing = join(dirname(writeTempFile('placeholder', '')), 'no-such-key');
    const proc = start(process.execPath, [
      cliPath,
      '--transport',
      'http',
      '--port',
      '0',
      '--session-key-file',
      missing,
    ]);
    expect(await waitForExit(proc)).toBe(2);
    expect(proc.output()).toMatch(new RegExp(`--session-key-file ${missing}: cannot read it: .*ENOENT`));
  });
});
