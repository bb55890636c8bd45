import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from './support/authorization-server.js';
import { startAuthorizationServer } from './support/authorization-server.js';
import { repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, start, startHttpProxy, stopAll, waitForOutput, waitUntil } from './support/processes.js';

// Tasks of a backend that serves only 2026-07-28 and runs the tasks extension itself
// (test/fixtures/servers/modern.ts --tasks, raw JSON-RPC tasks over the v2 server SDK): the
// backend decides which calls become tasks, the proxy shows them under ids of its own, bound
// to the caller, and relays tasks/get, tasks/update and tasks/cancel with the backend's ids.

const MODERN = '2026-07-28';
const PROXY_ID = /^[A-Za-z0-9_-]{22}$/;
const withTasks = { extensions: { 'io.modelcontextprotocol/tasks': {} } };

type Answer = { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

let backendUrl: string;

/** One raw 2026-07-28 request (the v2 client cannot read resultType "task"). */
async function rpc(
  url: string,
  method: string,
  params: Record<string, unknown>,
  options: { token?: string; capabilities?: Record<string, unknown> } = {},
): Promise<Answer> {
  const name = params['name'] ?? params['taskId'];
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(typeof name === 'string' && { 'mcp-name': name }),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientCapabilities': options.capabilities ?? withTasks,
        },
      },
    }),
  });
  const text = await response.text();
  const json = text.startsWith('{')
    ? text
    : (text
        .match(/^data: (.*)$/gm)
        ?.pop()
        ?.slice(6) ?? '{}');
  return JSON.parse(json) as Answer;
}

beforeAll(async () => {
  const fixture = start(process.execPath, [
    '--import',
    'tsx',
    join(repoRoot, 'test/fixtures/servers/modern.ts'),
    '--http',
    '0',
    '--tasks',
  ]);
  [, backendUrl = ''] = await waitForOutput(fixture, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
}, 60_000);

afterAll(async () => {
  await stopAll();
});

describe('2026-07-28 clients, a backend serving the tasks extension', () => {
  let as: AuthorizationServer;
  let proxy: RunningProxy;
  let audience: string;
  let alice: string;
  let bob: string;
  const call = (
    method: string,
    params: Record<string, unknown>,
    token = alice,
    capabilities: Record<string, unknown> = withTasks,
  ) => rpc(`${proxy.url}/mcp`, method, params, { token, capabilities });

  beforeAll(async () => {
    as = await startAuthorizationServer(await freePort());
    const port = await freePort();
    audience = `http://127.0.0.1:${port}/mcp`;
    const config = writeTempFile('mcp.json', { mcpServers: { modern: { url: backendUrl } } });
    proxy = await startHttpProxy(config, [
      '--port',
      String(port),
      '--oauth-issuer',
      as.issuer,
      '--oauth-audience',
      audience,
    ]);
    [alice, bob] = await Promise.all([as.token('alice', audience), as.token('bob', audience)]);
  }, 60_000);

  afterAll(async () => {
    await as?.close();
  });

  it('answers the backend’s task under an id of the proxy’s, and inlines its result in tasks/get', async () => {
    const created = await call('tools/call', {
      name: 'modern__slow_task',
      arguments: { ms: 200, label: 'm' },
    });
    expect(created.result).toMatchObject({ resultType: 'task', status: 'working', ttlMs: 60_000 });
    const taskId = String(created.result?.['taskId']);
    expect(taskId).toMatch(PROXY_ID);
    let polled: Record<string, unknown> | undefined;
    await waitUntil(
      async () => {
        polled = (await call('tasks/get', { taskId })).result;
        return polled?.['status'] === 'completed';
      },
      10_000,
      'task completed',
    );
    expect(polled).toMatchObject({
      taskId,
      resultType: 'complete',
      result: { content: [{ type: 'text', text: 'done: m' }] },
    });
    // The backend's own ids (t1, t2, …) mean nothing through the proxy.
    expect((await call('tasks/get', { taskId: 't1' })).error).toMatchObject({
      code: -32602,
      message: 'Task not found: "t1"',
    });
  });

  it('passes the backend’s inputRequests through, and the answer with tasks/update back', async () => {
    const capabilities = { ...withTasks, elicitation: {} };
    const created = await call(
      'tools/call',
      { name: 'modern__ask_task', arguments: {} },
      alice,
      capabilities,
    );
    const taskId = String(created.result?.['taskId']);
    expect(taskId).toMatch(PROXY_ID);
    const polled = await call('tasks/get', { taskId }, alice, capabilities);
    expect(polled.result).toMatchObject({
      taskId,
      status: 'input_required',
      inputRequests: { confirm: { method: 'elicitation/create', params: { message: 'Confirm?' } } },
    });
    const update = await call(
      'tasks/update',
      { taskId, inputResponses: { confirm: { action: 'accept', content: { ok: true } } } },
      alice,
      capabilities,
    );
    expect(update.error).toBeUndefined();
    expect(update.result).toMatchObject({ resultType: 'complete' });
    expect((await call('tasks/get', { taskId }, alice, capabilities)).result).toMatchObject({
      status: 'completed',
      result: { content: [{ type: 'text', text: 'confirmed: accept' }] },
    });
  });

  it('keeps one subject’s task from another: poll, update and cancel all find nothing', async () => {
    const created = await call('tools/call', {
      name: 'modern__slow_task',
      arguments: { ms: 20_000, label: 'a' },
    });
    const taskId = String(created.result?.['taskId']);
    const notFound = { code: -32602, message: `Task not found: "${taskId}"` };
    expect((await call('tasks/get', { taskId }, bob)).error).toMatchObject(notFound);
    expect((await call('tasks/cancel', { taskId }, bob)).error).toMatchObject(notFound);
    expect(
      (await call('tasks/update', { taskId, inputResponses: { confirm: {} } }, bob)).error,
    ).toMatchObject(notFound);
    // Bob's attempts changed nothing; Alice cancels her own task.
    expect((await call('tasks/get', { taskId })).result).toMatchObject({ status: 'working' });
    expect((await call('tasks/cancel', { taskId })).result).toMatchObject({ resultType: 'complete' });
    expect((await call('tasks/get', { taskId })).result).toMatchObject({ status: 'cancelled' });
  });

  it('lets the backend decide for a client without the extension: the call runs to its result', async () => {
    const plain = await call(
      'tools/call',
      { name: 'modern__slow_task', arguments: { ms: 0, label: 's' } },
      alice,
      {},
    );
    expect(plain.result).toMatchObject({ content: [{ type: 'text', text: 'done: s' }] });
    expect(plain.result?.['resultType']).not.toBe('task');
  });
});
