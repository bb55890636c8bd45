import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import { fixture, repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import {
  descendants,
  isRunning,
  startHttpProxy,
  stopAll,
  waitForExit,
  waitForOutput,
  waitUntil,
} from './support/processes.js';

// SIGTERM as a kubelet sends it, against a real proxy whose backends are process trees; what
// survives is read from the process table, not assumed.

const DRAIN_MS = 8_000;
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'late', version: '1' } },
};

// Backend processes seen by a test, killed afterwards whatever happened (a failing test must not leak them).
const seen: number[] = [];
afterEach(async () => {
  await stopAll();
  for (const pid of seen.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
});

/** One backend run directly, one through `sh -c`: both are trees (each server starts a grandchild). */
function treeConfig(): string {
  const tree = fixture('process-tree.ts', 'direct');
  const script = join(repoRoot, 'test/fixtures/servers/process-tree.ts');
  return writeTempFile('mcp.json', {
    mcpServers: {
      tree,
      shell: {
        command: 'sh',
        args: ['-c', `"${process.execPath}" --import tsx "${script}" shell`],
        cwd: repoRoot,
      },
    },
  });
}

async function startTrees(drainMs: number): Promise<{ proxy: RunningProxy; tree: number[] }> {
  const proxy = await startHttpProxy(treeConfig(), ['--drain-timeout-ms', String(drainMs)]);
  const pid = proxy.child.pid as number;
  // Each server logs its pid and its grandchild's once started; wait for both trees to be whole.
  await waitForOutput(proxy, /grandchild \d+ backend=tree /);
  await waitForOutput(proxy, /grandchild \d+ backend=shell /);
  await waitUntil(async () => descendants(pid).length >= 4, 10_000, 'both backend trees spawned');
  const tree = descendants(pid);
  seen.push(...tree);
  return { proxy, tree };
}

async function noneRunning(pids: number[]): Promise<void> {
  await waitUntil(async () => pids.every((p) => !isRunning(p)), 3_000, 'every backend process gone');
}

describe('SIGTERM', () => {
  it('lets a call in flight finish, refuses new sessions, exits 0 and leaves no process behind', async () => {
    const { proxy, tree } = await startTrees(DRAIN_MS);
    const client = await v1Http(proxy.url);
    const call = client.callTool({ name: 'tree__sleep', arguments: { ms: 2_000 } });
    // The backend logs when the call reaches it, and the proxy passes its stderr on.
    await waitForOutput(proxy, /sleeping 2000 ms backend=tree/);

    const signalled = Date.now();
    proxy.child.kill('SIGTERM');
    await waitForOutput(proxy, /shutting down reason=SIGTERM/);

    const ready = await fetch(`${proxy.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining' });

    const late = await fetch(`${proxy.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INITIALIZE),
    });
    expect(late.status).toBe(503);
    expect(((await late.json()) as { error: { message: string } }).error.message).toMatch(
      /shutting down and accepts no new sessions/,
    );

    const metrics = await fetch(`${proxy.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^multi_mcp_draining 1$/m);

    const result = (await call) as { content: { text: string }[] };
    expect(result.content[0]?.text).toBe('slept 2000 ms');

    expect(await waitForExit(proxy, DRAIN_MS + 5_000)).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(DRAIN_MS);
    await noneRunning(tree);
    expect(proxy.output()).toMatch(/shutting down reason=SIGTERM/);
  });

  it('cuts calls that outlast --drain-timeout-ms and still exits 0 with no process behind', async () => {
    const drainMs = 1_000;
    const { proxy, tree } = await startTrees(drainMs);
    const client = await v1Http(proxy.url);
    const call = client.callTool({ name: 'tree__sleep', arguments: { ms: 20_000 } });
    call.catch(() => {});
    await waitForOutput(proxy, /sleeping 20000 ms backend=tree/);

    const signalled = Date.now();
    proxy.child.kill('SIGTERM');
    // Closing takes at most a few seconds after the drain (sessions, then each process tree's grace).
    expect(await waitForExit(proxy, drainMs + 10_000)).toBe(0);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(drainMs);
    // (The client is not told: its response stream just ends, as with any lost connection.)
    expect(proxy.output()).toMatch(/drain timed out; cutting the calls still in flight calls=1/);
    await noneRunning(tree);
  });

  it('exits at once on a second signal, killing every backend process tree', async () => {
    const { proxy, tree } = await startTrees(30_000);
    const client = await v1Http(proxy.url);
    const call = client.callTool({ name: 'tree__sleep', arguments: { ms: 20_000 } });
    call.catch(() => {});
    await waitForOutput(proxy, /sleeping 20000 ms backend=tree/);

    proxy.child.kill('SIGTERM');
    await waitForOutput(proxy, /draining calls in flight/);
    const second = Date.now();
    proxy.child.kill('SIGTERM');
    expect(await waitForExit(proxy, 5_000)).toBe(143);
    expect(Date.now() - second).toBeLessThan(2_000);
    await noneRunning(tree);
  });
});
