import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import { cliPath, fixture } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import {
  descendants,
  isRunning,
  start,
  startHttpProxy,
  stopAll,
  waitForExit,
  waitForOutput,
  waitUntil,
} from './support/processes.js';

// Edits of the config file under a running proxy, made the two ways they happen in practice (an
// editor renaming a new file over the old one, a kubelet swapping a ConfigMap's ..data symlink),
// checked through a real client and the process table.

const RELOAD_MS = 10_000;

const seen = new Set<number>();
afterEach(async () => {
  await stopAll();
  for (const pid of seen) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  seen.clear();
});
afterAll(stopAll);

const servers = (labels: Record<string, string>): string =>
  JSON.stringify({
    mcpServers: Object.fromEntries(
      Object.entries(labels).map(([name, label]) => [name, fixture('process-tree.ts', label)]),
    ),
  });

/** Saves as editors do: a new file, renamed over the old one. */
function saveByRename(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function pidOf(client: ClientV1, backend: string): Promise<number> {
  const result = await client.callTool({ name: `${backend}__pids`, arguments: {} });
  const pid = (result.structuredContent as { pid: number }).pid;
  seen.add(pid);
  return pid;
}

async function whoami(client: ClientV1, backend: string): Promise<string | undefined> {
  const result = await client.callTool({ name: `${backend}__whoami`, arguments: {} }).catch(() => undefined);
  return (result?.content as { text: string }[] | undefined)?.[0]?.text;
}

async function restartsOf(proxy: RunningProxy, backend: string): Promise<number> {
  const status = (await fetch(`${proxy.url}/mcp_servers/${backend}`).then((r) => r.json())) as {
    restarts: number;
  };
  return status.restarts;
}

async function toolNames(client: ClientV1): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

async function reloads(proxy: RunningProxy, outcome: 'ok' | 'failed'): Promise<number> {
  const text = await fetch(`${proxy.url}/metrics`).then((r) => r.text());
  const match = new RegExp(`multi_mcp_config_reloads_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text);
  return Number(match?.[1] ?? 0);
}

describe('live configuration', () => {
  it('applies an editor’s save as a diff: unchanged keeps its process, changed is replaced, removed stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-live-'));
    const path = join(dir, 'mcp.json');
    writeFileSync(path, servers({ keep: 'keep', change: 'v1', drop: 'drop' }));
    const proxy = await startHttpProxy(path);
    const client = await v1Http(proxy.url);
    const keepPid = await pidOf(client, 'keep');
    const changePid = await pidOf(client, 'change');
    const dropPid = await pidOf(client, 'drop');
    const before = descendants(proxy.child.pid as number);
    before.forEach((pid) => seen.add(pid));

    saveByRename(path, servers({ keep: 'keep', change: 'v2', added: 'added' }));
    await waitUntil(async () => (await whoami(client, 'change')) === 'v2', RELOAD_MS, 'change replaced');
    await waitUntil(
      async () => (await toolNames(client)).includes('added__whoami'),
      RELOAD_MS,
      'added listed',
    );
    expect(await toolNames(client)).not.toContain('drop__whoami');
    expect(await pidOf(client, 'keep')).toBe(keepPid);
    expect(await restartsOf(proxy, 'keep')).toBe(0);
    expect(await pidOf(client, 'change')).not.toBe(changePid);
    await waitUntil(
      async () => !isRunning(changePid) && !isRunning(dropPid),
      RELOAD_MS,
      'replaced and removed servers stopped',
    );
    // Their grandchildren too: of the processes before the edit, only keep's tree is left.
    const keepTree = [keepPid, ...descendants(keepPid)];
    await waitUntil(
      async () => before.filter((pid) => isRunning(pid)).every((pid) => keepTree.includes(pid)),
      RELOAD_MS,
      'old trees gone',
    );
    expect(proxy.output()).toMatch(/config reloaded .*created=added.*updated=change.*removed=drop/);
    expect(await reloads(proxy, 'ok')).toBe(1);
    await client.close();
  });

  it('follows a ConfigMap mount, where the kubelet swaps the ..data symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-configmap-'));
    const publish = (stamp: string, text: string): void => {
      mkdirSync(join(dir, stamp));
      writeFileSync(join(dir, stamp, 'mcp.json'), text);
      symlinkSync(stamp, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    };
    mkdirSync(join(dir, '..2026_01_01_00_00_00.1'));
    writeFileSync(join(dir, '..2026_01_01_00_00_00.1', 'mcp.json'), servers({ keep: 'keep' }));
    symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
    symlinkSync('..data/mcp.json', join(dir, 'mcp.json'));

    const proxy = await startHttpProxy(join(dir, 'mcp.json'));
    const client = await v1Http(proxy.url);
    const keepPid = await pidOf(client, 'keep');

    publish('..2026_01_01_00_01_00.2', servers({ keep: 'keep', added: 'added' }));
    rmSync(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
    await waitUntil(async () => (await whoami(client, 'added')) === 'added', RELOAD_MS, 'added served');
    expect(await pidOf(client, 'keep')).toBe(keepPid);

    publish('..2026_01_01_00_02_00.3', servers({ added: 'added' }));
    rmSync(join(dir, '..2026_01_01_00_01_00.2'), { recursive: true });
    await waitUntil(async () => !(await toolNames(client)).includes('keep__pids'), RELOAD_MS, 'keep removed');
    await waitUntil(async () => !isRunning(keepPid), RELOAD_MS, 'keep stopped');
    await client.close();
  });

  it('rejects an invalid edit with the start-up message and keeps serving what ran', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-live-'));
    const path = join(dir, 'mcp.json');
    const good = servers({ keep: 'keep' });
    writeFileSync(path, good);
    const proxy = await startHttpProxy(path);
    const client = await v1Http(proxy.url);
    const keepPid = await pidOf(client, 'keep');

    const invalid = JSON.stringify({ mcpServers: { keep: { command: 'node', timeoutMs: 'soon' } } });
    // What the proxy says when it cannot start with this file is what it must log for the edit.
    const badPath = join(mkdtempSync(join(tmpdir(), 'multi-mcp-bad-')), 'mcp.json');
    writeFileSync(badPath, invalid);
    const refused = start(process.execPath, [cliPath, '--transport', 'http', '--port', '0', '-c', badPath]);
    expect(await waitForExit(refused)).toBe(2);
    const issue = /^\s+(mcpServers\.keep\.timeoutMs: .*)$/m.exec(refused.output())?.[1];
    expect(issue).toBeTruthy();

    saveByRename(path, invalid);
    const [line] = await waitForOutput(proxy, /config edit rejected[^\n]*/, RELOAD_MS);
    expect(line).toContain(JSON.stringify(issue).slice(1, -1));
    expect(await reloads(proxy, 'failed')).toBe(1);

    saveByRename(path, '{"mcpServers": {"keep": ');
    await waitUntil(async () => (await reloads(proxy, 'failed')) === 2, RELOAD_MS, 'second rejection');
    expect(proxy.output()).toMatch(/config edit rejected.*invalid JSON/);

    rmSync(path);
    await waitUntil(async () => (await reloads(proxy, 'failed')) === 3, RELOAD_MS, 'deleted file rejected');
    expect(proxy.output()).toMatch(/config edit rejected.*file not found/);

    expect(await pidOf(client, 'keep')).toBe(keepPid);
    expect(await restartsOf(proxy, 'keep')).toBe(0);
    expect((await fetch(`${proxy.url}/readyz`)).status).toBe(200);

    // Putting it back is a reload like any other, and changes nothing that runs.
    saveByRename(path, good);
    await waitUntil(async () => (await reloads(proxy, 'ok')) === 1, RELOAD_MS, 'restored');
    expect(await pidOf(client, 'keep')).toBe(keepPid);
    await client.close();
  });
});
