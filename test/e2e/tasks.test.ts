import { readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { v1Http, v1Sse, v1Stdio } from './support/clients.js';
import { cliPath, everythingBin, fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { childPids, startHttpProxy, stopAll, waitUntil } from './support/processes.js';
import type { ModernAnswer } from './support/modern-rpc.js';
import { modernRpc } from './support/modern-rpc.js';

// The 2025-11-25 tasks utility through the proxy, with real peers: the v1 SDK client (its
// experimental tasks API and raw requests) and backends built on the v1 SDK's tasks runtime
// (server-everything's simulate-research-query, and the tasks fixture).

const config = writeTempFile('mcp.json', {
  mcpServers: {
    everything: { command: process.execPath, args: [everythingBin, 'stdio'] },
    jobs: fixture('tasks.ts'),
  },
});

const clients: Client[] = [];
let proxy: RunningProxy;

beforeAll(async () => {
  proxy = await startHttpProxy(config);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
});

const PROXY_ID = /^[A-Za-z0-9_-]{22}$/;

async function http(): Promise<Client> {
  const client = await v1Http(proxy.url);
  clients.push(client);
  return client;
}

async function sse(): Promise<Client> {
  const client = await v1Sse(proxy.url);
  clients.push(client);
  return client;
}

async function stdio(): Promise<Client> {
  const client = await v1Stdio(process.execPath, [cliPath, '--transport', 'stdio', '--config', config]);
  clients.push(client);
  await waitUntil(
    async () => (await client.listTools()).tools.some((t) => t.name === 'jobs__wait'),
    30_000,
    'backends listed over stdio',
  );
  return client;
}

const createTask = async (client: Client, args: { label: string; ms: number }, ttl = 60_000) =>
  (
    await client.request(
      { method: 'tools/call', params: { name: 'jobs__wait', arguments: args, task: { ttl } } },
      CreateTaskResultSchema,
    )
  ).task;

const getTask = (client: Client, taskId: string) =>
  client.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema);

async function until(client: Client, taskId: string, status: string): Promise<void> {
  await waitUntil(async () => (await getTask(client, taskId)).status === status, 10_000, `task ${status}`);
}

/** The error a request ends with (fails the test when it succeeds). */
async function errorOf(work: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await work;
  } catch (error) {
    return error as { code: number; message: string };
  }
  throw new Error('expected the request to fail');
}

describe.each([
  ['Streamable HTTP', http],
  ['legacy SSE', sse],
  ['stdio', stdio],
])('tasks through the %s front door', (_door, connect) => {
  it('advertises tasks and runs server-everything’s task tool with the SDK’s task stream', async () => {
    const client = await connect();
    expect(client.getServerCapabilities()?.tasks).toEqual({
      list: {},
      cancel: {},
      requests: { tools: { call: {} } },
    });
    const tools = (await client.listTools()).tools;
    expect(tools.find((t) => t.name === 'everything__simulate-research-query')?.execution).toEqual({
      taskSupport: 'required',
    });
    const seen: string[] = [];
    let result: unknown;
    for await (const message of client.experimental.tasks.callToolStream(
      { name: 'everything__simulate-research-query', arguments: { topic: 'proxies' } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    )) {
      if (message.type === 'taskCreated') seen.push(message.task.taskId);
      if (message.type === 'taskStatus') seen.push(message.task.status);
      if (message.type === 'result') result = message.result;
      if (message.type === 'error') throw message.error;
    }
    // server-everything's own ids are 32 hex digits: the client only ever sees the proxy's.
    expect(seen[0]).toMatch(PROXY_ID);
    expect(seen).toContain('working');
    expect(JSON.stringify(result)).toContain('Research Report: proxies');
  }, 30_000);

  it('creates a task, polls it, gets its result and lists it', async () => {
    const client = await connect();
    const task = await createTask(client, { label: 'a', ms: 200 });
    expect(task.taskId).toMatch(PROXY_ID);
    expect(task.status).toBe('working');
    await until(client, task.taskId, 'completed');
    const result = await client.request(
      { method: 'tasks/result', params: { taskId: task.taskId } },
      CallToolResultSchema,
    );
    expect(result.content).toEqual([{ type: 'text', text: 'done: a' }]);
    expect(result._meta?.['io.modelcontextprotocol/related-task']).toEqual({ taskId: task.taskId });
    const listed = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    expect(listed.tasks.find((t) => t.taskId === task.taskId)?.status).toBe('completed');
  });

  it('cancels a task', async () => {
    const client = await connect();
    const task = await createTask(client, { label: 'slow', ms: 20_000 });
    const cancelled = await client.request(
      { method: 'tasks/cancel', params: { taskId: task.taskId } },
      CancelTaskResultSchema,
    );
    expect(cancelled).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
    expect((await getTask(client, task.taskId)).status).toBe('cancelled');
    // Cancelling a finished task is refused, in the proxy's terms.
    const again = await errorOf(
      client.request({ method: 'tasks/cancel', params: { taskId: task.taskId } }, CancelTaskResultSchema),
    );
    expect(again.code).toBe(-32602);
    expect(again.message).toContain('terminal');
  });
});

describe('a task that needs input', () => {
  it('sends the backend’s elicitation during tasks/result to the client that owns the task, under its id', async () => {
    const client = new ClientV1({ name: 'e2e', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const asked: unknown[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params._meta?.['io.modelcontextprotocol/related-task']);
      return { action: 'accept', content: { interpretation: 'programming' } };
    });
    await client.connect(new HttpV1(new URL(`${proxy.url}/mcp`)));
    clients.push(client);
    let taskId = '';
    let result: unknown;
    for await (const message of client.experimental.tasks.callToolStream(
      { name: 'everything__simulate-research-query', arguments: { topic: 'python', ambiguous: true } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    )) {
      if (message.type === 'taskCreated') taskId = message.task.taskId;
      if (message.type === 'result') result = message.result;
      if (message.type === 'error') throw message.error;
    }
    expect(asked).toEqual([{ taskId }]);
    expect(JSON.stringify(result)).toContain('programming');
  }, 30_000);
});

describe('tasks of two clients', () => {
  it('keeps each client’s tasks its own: a foreign id is not found, like a made-up one', async () => {
    const [alice, bob] = await Promise.all([http(), http()]);
    const aliceStatus: string[] = [];
    const bobStatus: string[] = [];
    alice.setNotificationHandler(TaskStatusNotificationSchema, (n) => void aliceStatus.push(n.params.taskId));
    bob.setNotificationHandler(TaskStatusNotificationSchema, (n) => void bobStatus.push(n.params.taskId));

    const [aliceTask, bobTask] = await Promise.all([
      createTask(alice, { label: 'alice', ms: 300 }),
      createTask(bob, { label: 'bob', ms: 5_000 }),
    ]);
    const foreign = await errorOf(getTask(bob, aliceTask.taskId));
    const madeUp = await errorOf(getTask(bob, 'AAAAAAAAAAAAAAAAAAAAAA'));
    expect(foreign.code).toBe(-32602);
    expect(foreign.message.replace(aliceTask.taskId, 'ID')).toBe(
      madeUp.message.replace('AAAAAAAAAAAAAAAAAAAAAA', 'ID'),
    );
    for (const method of ['tasks/result', 'tasks/cancel'] as const) {
      const refused = await errorOf(
        bob.request({ method, params: { taskId: aliceTask.taskId } }, CallToolResultSchema),
      );
      expect(refused.code).toBe(-32602);
      expect(refused.message).toMatch(/Task not found: /);
    }
    const bobList = await bob.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    expect(bobList.tasks.map((t) => t.taskId)).toEqual([bobTask.taskId]);

    // Bob's attempts changed nothing for Alice; her status notifications reach only her, under her id.
    await until(alice, aliceTask.taskId, 'completed');
    await waitUntil(async () => aliceStatus.includes(aliceTask.taskId), 5_000, 'status notification');
    expect(bobStatus).not.toContain(aliceTask.taskId);
    expect(aliceStatus).not.toContain(bobTask.taskId);
  });

  it('pages tasks/list over the caller’s tasks only', async () => {
    const client = await http();
    const ids = [];
    for (let i = 0; i < 25; i++) ids.push((await createTask(client, { label: `p${i}`, ms: 0 })).taskId);
    const first = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    expect(first.tasks).toHaveLength(20);
    expect(first.nextCursor).toBeDefined();
    const second = await client.request(
      { method: 'tasks/list', params: { cursor: first.nextCursor } },
      ListTasksResultSchema,
    );
    expect([...first.tasks, ...second.tasks].map((t) => t.taskId)).toEqual(ids);
    expect(second.nextCursor).toBeUndefined();
  });
});

describe('bad task input and lost tasks', () => {
  it('refuses a task id that is not a string, naming the field', async () => {
    const client = await http();
    const refused = await errorOf(
      client.request({ method: 'tasks/get', params: { taskId: 42 } } as never, GetTaskResultSchema),
    );
    expect(refused.code).toBe(-32602);
    expect(refused.message).toContain('params.taskId must be a string');
    const cursor = await errorOf(
      client.request({ method: 'tasks/list', params: { cursor: 'nope' } }, ListTasksResultSchema),
    );
    expect(cursor.code).toBe(-32602);
    expect(cursor.message).toContain('params.cursor');
  });

  it('forgets a task when its ttl has passed', async () => {
    const client = await http();
    const task = await createTask(client, { label: 'short', ms: 0 }, 300);
    expect(task.ttl).toBe(300);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await errorOf(getTask(client, task.taskId))).message).toMatch(/Task not found: /);
  });

  it('marks a task failed when its backend crashes, and keeps serving other calls', async () => {
    const client = await http();
    const task = await createTask(client, { label: 'doomed', ms: 20_000 });
    const backendPid = childPids(proxy.child.pid!).find((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('tasks.ts'),
    );
    expect(backendPid).toBeDefined();
    process.kill(backendPid!, 'SIGKILL');
    await until(client, task.taskId, 'failed');
    const failed = await getTask(client, task.taskId);
    expect(failed.statusMessage).toContain('backend "jobs"');
    const result = await errorOf(
      client.request({ method: 'tasks/result', params: { taskId: task.taskId } }, CallToolResultSchema),
    );
    expect(result.message).toContain('backend "jobs"');
    // The backend comes back and takes new tasks.
    await waitUntil(
      async () => await createTask(client, { label: 'after', ms: 0 }).then(() => true),
      20_000,
      'jobs back',
    );
  }, 40_000);
});

describe('tasks extension for 2026-07-28 clients (io.modelcontextprotocol/tasks)', () => {
  const withTasks = { extensions: { 'io.modelcontextprotocol/tasks': {} } };

  /** One raw 2026-07-28 request: the SDK client cannot send tasks/* or read resultType "task". */
  const rpc = async (
    method: string,
    params: Record<string, unknown>,
    capabilities: Record<string, unknown> = withTasks,
  ): Promise<ModernAnswer['body']> =>
    (await modernRpc(`${proxy.url}/mcp`, method, params, { capabilities })).body;

  it('advertises the extension in server/discover', async () => {
    const { result } = await rpc('server/discover', {});
    expect(result?.['capabilities']).toMatchObject({ extensions: { 'io.modelcontextprotocol/tasks': {} } });
  });

  it('answers a task tool with resultType "task", then the outcome inline in tasks/get', async () => {
    const created = await rpc('tools/call', { name: 'jobs__wait', arguments: { label: 'm', ms: 200 } });
    expect(created.result).toMatchObject({
      resultType: 'task',
      status: 'working',
      ttlMs: expect.any(Number),
    });
    const taskId = String(created.result?.['taskId']);
    expect(taskId).toMatch(PROXY_ID);
    let polled: Record<string, unknown> | undefined;
    await waitUntil(
      async () => {
        polled = (await rpc('tasks/get', { taskId })).result;
        return polled?.['status'] === 'completed';
      },
      10_000,
      'modern task completed',
    );
    expect(polled).toMatchObject({
      taskId,
      resultType: 'complete',
      result: { content: [{ type: 'text', text: 'done: m' }] },
    });
  });

  it('cancels a task, and does not show a session’s task to a stateless client', async () => {
    const created = await rpc('tools/call', { name: 'jobs__wait', arguments: { label: 'c', ms: 20_000 } });
    const taskId = String(created.result?.['taskId']);
    expect((await rpc('tasks/cancel', { taskId })).result).toMatchObject({ resultType: 'complete' });
    expect((await rpc('tasks/get', { taskId })).result).toMatchObject({ status: 'cancelled' });

    const session = await http();
    const sessionTask = await createTask(session, { label: 's', ms: 0 });
    expect((await rpc('tasks/get', { taskId: sessionTask.taskId })).error).toMatchObject({
      code: -32602,
      message: `Task not found: "${sessionTask.taskId}"`,
    });
  });

  it('turns the backend’s elicitation into inputRequests, answered with tasks/update', async () => {
    const capabilities = { ...withTasks, elicitation: {} };
    const created = await rpc(
      'tools/call',
      { name: 'everything__simulate-research-query', arguments: { topic: 'python', ambiguous: true } },
      capabilities,
    );
    const taskId = String(created.result?.['taskId']);
    let polled: Record<string, unknown> | undefined;
    const pollUntil = (status: string) =>
      waitUntil(
        async () => {
          polled = (await rpc('tasks/get', { taskId }, capabilities)).result;
          return polled?.['status'] === status;
        },
        20_000,
        `modern task ${status}`,
      );
    await pollUntil('input_required');
    const inputRequests = polled?.['inputRequests'] as Record<
      string,
      { method: string; params: Record<string, unknown> }
    >;
    const [key, request] = Object.entries(inputRequests)[0]!;
    expect(request.method).toBe('elicitation/create');
    expect(request.params['_meta']).toEqual({ 'io.modelcontextprotocol/related-task': { taskId } });
    const update = await rpc(
      'tasks/update',
      { taskId, inputResponses: { [key]: { action: 'accept', content: { interpretation: 'programming' } } } },
      capabilities,
    );
    expect(update.error).toBeUndefined();
    expect(update.result).toMatchObject({ resultType: 'complete' });
    await pollUntil('completed');
    expect(JSON.stringify(polled?.['result'])).toContain('python (programming)');
  }, 40_000);

  it('refuses a task-only tool to a client without the extension, naming it (-32021)', async () => {
    const answer = await rpc('tools/call', { name: 'jobs__wait', arguments: { label: 'sync', ms: 100 } }, {});
    expect(answer.error).toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } } },
    });
    // A tool that may run either way is simply called.
    const plain = await rpc(
      'tools/call',
      { name: 'jobs__wait_optional', arguments: { label: 'p', ms: 0 } },
      {},
    );
    expect(plain.result).toMatchObject({ content: [{ type: 'text', text: 'done: p' }] });
  });
});
