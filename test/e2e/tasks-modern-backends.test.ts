import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from './support/authorization-server.js';
import { startAuthorizationServer } from './support/authorization-server.js';
import { writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, startHttpProxy, startModernFixture, stopAll, waitUntil } from './support/processes.js';
import type { ModernRequestOptions } from './support/modern-rpc.js';
import { modernRpc } from './support/modern-rpc.js';

// Tasks of a backend that serves only 2026-07-28 and runs the tasks extension itself
// (test/fixtures/servers/modern.ts --tasks, raw JSON-RPC tasks over the v2 server SDK): the
// backend decides which calls become tasks, the proxy shows them under ids of its own, bound
// to the caller, and relays tasks/get, tasks/update and tasks/cancel with the backend's ids.

const PROXY_ID = /^[A-Za-z0-9_-]{22}$/;
const withTasks = { extensions: { 'io.modelcontextprotocol/tasks': {} } };

type Answer = { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

let backendUrl: string;

/** One raw 2026-07-28 request (the v2 client cannot read resultType "task"). */
const rpc = async (
  url: string,
  method: string,
  params: Record<string, unknown>,
  options: ModernRequestOptions = {},
): Promise<Answer> =>
  (await modernRpc(url, method, params, { capabilities: withTasks, ...options })).body as Answer;

beforeAll(async () => {
  backendUrl = await startModernFixture('--tasks');
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

describe('2025-era sessions, a backend serving the tasks extension', () => {
  let proxy: RunningProxy;
  const clients: ClientV1[] = [];

  beforeAll(async () => {
    const config = writeTempFile('mcp.json', { mcpServers: { modern: { url: backendUrl } } });
    proxy = await startHttpProxy(config);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  });

  const connect = async (capabilities: Record<string, unknown> = {}): Promise<ClientV1> => {
    const client = new ClientV1({ name: 'v1', version: '1.0.0' }, { capabilities });
    clients.push(client);
    await client.connect(new HttpV1(new URL(`${proxy.url}/mcp`)));
    return client;
  };
  const createTask = async (client: ClientV1, name: string, args: Record<string, unknown>) =>
    (
      await client.request(
        { method: 'tools/call', params: { name, arguments: args, task: { ttl: 60_000 } } },
        CreateTaskResultSchema,
      )
    ).task;
  const errorOf = async (work: Promise<unknown>): Promise<{ code: number; message: string }> => {
    try {
      await work;
    } catch (error) {
      return error as { code: number; message: string };
    }
    throw new Error('expected the request to fail');
  };

  it('creates the task in the 2025 shape, and tasks/result waits for its outcome', async () => {
    const client = await connect();
    // Long enough that the poll below finds it still working on a loaded machine.
    const task = await createTask(client, 'modern__slow_task', { ms: 3_000, label: 'l' });
    expect(task).toMatchObject({ status: 'working', ttl: 60_000, pollInterval: 50 });
    expect(task.taskId).toMatch(PROXY_ID);
    const polled = await client.request(
      { method: 'tasks/get', params: { taskId: task.taskId } },
      GetTaskResultSchema,
    );
    expect(polled).toMatchObject({ taskId: task.taskId, status: 'working' });
    const result = await client.request(
      { method: 'tasks/result', params: { taskId: task.taskId } },
      CallToolResultSchema,
    );
    expect(result.content).toEqual([{ type: 'text', text: 'done: l' }]);
    expect(result._meta).toMatchObject({ 'io.modelcontextprotocol/related-task': { taskId: task.taskId } });
    expect(
      await client.request({ method: 'tasks/get', params: { taskId: task.taskId } }, GetTaskResultSchema),
    ).toMatchObject({ status: 'completed' });
  });

  it('asks the session what the task needs (a real elicitation) and answers the backend with tasks/update', async () => {
    const asked: unknown[] = [];
    const client = await connect({ elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { ok: true } };
    });
    const task = await createTask(client, 'modern__ask_task', {});
    expect(task.status).toBe('input_required');
    const result = await client.request(
      { method: 'tasks/result', params: { taskId: task.taskId } },
      CallToolResultSchema,
    );
    expect(result.content).toEqual([{ type: 'text', text: 'confirmed: accept' }]);
    expect(asked).toEqual([
      expect.objectContaining({
        message: 'Confirm?',
        _meta: { 'io.modelcontextprotocol/related-task': { taskId: task.taskId } },
      }),
    ]);
  });

  it('keeps two sessions’ tasks apart: get, list and cancel of another’s id find nothing', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const task = await createTask(a, 'modern__slow_task', { ms: 20_000, label: 'a' });
    const notFound = { code: -32602, message: expect.stringContaining(`Task not found: "${task.taskId}"`) };
    expect(
      await errorOf(b.request({ method: 'tasks/get', params: { taskId: task.taskId } }, GetTaskResultSchema)),
    ).toMatchObject(notFound);
    expect(
      await errorOf(
        b.request({ method: 'tasks/cancel', params: { taskId: task.taskId } }, CancelTaskResultSchema),
      ),
    ).toMatchObject(notFound);
    const listed = await b.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    expect(listed.tasks.map((t) => t.taskId)).not.toContain(task.taskId);
    expect(
      (await a.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema)).tasks.map(
        (t) => t.taskId,
      ),
    ).toContain(task.taskId);
    const cancelled = await a.request(
      { method: 'tasks/cancel', params: { taskId: task.taskId } },
      CancelTaskResultSchema,
    );
    expect(cancelled).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
  });
});
