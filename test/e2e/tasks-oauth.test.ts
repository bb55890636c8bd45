import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from './support/authorization-server.js';
import { startAuthorizationServer } from './support/authorization-server.js';
import { fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, startHttpProxy, stopAll } from './support/processes.js';
import { modernRpc } from './support/modern-rpc.js';

// Stateless 2026-07-28 clients have no session: with OAuth, a task belongs to the token's
// subject, so another subject's poll or cancel finds nothing (a real authorization server).

const withTasks = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
let as: AuthorizationServer;
let proxy: RunningProxy;
let audience: string;

beforeAll(async () => {
  as = await startAuthorizationServer(await freePort());
  const port = await freePort();
  audience = `http://127.0.0.1:${port}/mcp`;
  const config = writeTempFile('mcp.json', { mcpServers: { jobs: fixture('tasks.ts') } });
  proxy = await startHttpProxy(config, [
    '--port',
    String(port),
    '--oauth-issuer',
    as.issuer,
    '--oauth-audience',
    audience,
  ]);
}, 60_000);

afterAll(async () => {
  await stopAll();
  await as?.close();
});

const rpc = async (token: string, method: string, params: Record<string, unknown>) =>
  (await modernRpc(`${proxy.url}/mcp`, method, params, { token, capabilities: withTasks })).body;

describe('tasks of stateless clients under OAuth', () => {
  it('binds a task to the subject that created it', async () => {
    const [alice, bob] = await Promise.all([as.token('alice', audience), as.token('bob', audience)]);
    const created = await rpc(alice, 'tools/call', {
      name: 'jobs__wait',
      arguments: { label: 'a', ms: 5_000 },
    });
    const taskId = String(created.result?.['taskId']);
    expect(created.result).toMatchObject({ resultType: 'task' });
    // Another subject: not found, for polling, answering and cancelling alike.
    for (const method of ['tasks/get', 'tasks/cancel'] as const) {
      expect((await rpc(bob, method, { taskId })).error).toMatchObject({
        code: -32602,
        message: `Task not found: "${taskId}"`,
      });
    }
    expect((await rpc(bob, 'tasks/update', { taskId, inputResponses: {} })).error?.code).toBe(-32602);
    // The same subject with a fresh token still owns it; Bob's cancel changed nothing.
    const again = await rpc(await as.token('alice', audience), 'tasks/get', { taskId });
    expect(again.result).toMatchObject({ taskId, status: 'working' });
  });
});
