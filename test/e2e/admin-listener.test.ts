import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import { cliPath, fixture, writeTempFile } from './support/paths.js';
import { start, startHttpProxy, stopAll, waitForExit, waitUntil } from './support/processes.js';

// The proxy as a cluster workload: the admin API on its own listener, its token from a mounted
// Secret that rotates without a restart, and the commands it may start. Real proxy processes,
// real files and symlinks, loopback only.

afterAll(stopAll);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-admin-e2e-'));
  dirs.push(dir);
  return dir;
}

const get = (url: string, token?: string): Promise<Response> =>
  fetch(url, {
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    signal: AbortSignal.timeout(10_000),
  });

/**
 * The proxy re-reads on the directory event within milliseconds; 5 s is generous for that and
 * still below its 10 s poll fallback, so these tests fail if only the poll noticed the change.
 */
const untilStatus = (url: string, token: string, status: number): Promise<void> =>
  waitUntil(async () => (await get(url, token)).status === status, 5_000, `${url} with ${token} → ${status}`);

describe('--admin-port', () => {
  it('serves the admin API only on its own listener and the probes on both', async () => {
    const config = writeTempFile('mcp.json', { mcpServers: { calc: fixture('calculator.ts') } });
    const proxy = await startHttpProxy(config, ['--admin-port', '0']);
    expect(proxy.adminUrl).not.toBe(proxy.url);

    for (const path of ['/mcp_servers', '/mcp_servers/calc', '/mcp_tools', '/metrics']) {
      const onMcp = await get(`${proxy.url}${path}`);
      expect(onMcp.status, path).toBe(404);
      expect(((await onMcp.json()) as { error: string }).error).toContain('--admin-port');
      expect((await get(`${proxy.adminUrl}${path}`)).status, path).toBe(200);
    }
    const del = await fetch(`${proxy.url}/mcp_servers/calc`, { method: 'DELETE' });
    expect(del.status).toBe(404);
    for (const base of [proxy.url, proxy.adminUrl]) {
      expect((await get(`${base}/healthz`)).status, base).toBe(200);
      expect((await get(`${base}/readyz`)).status, base).toBe(200);
    }

    // MCP itself is on the MCP port, and its calls show up in the admin port's metrics.
    const client = await v1Http(proxy.url);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('calc__add');
    await client.callTool({ name: 'calc__add', arguments: { a: 1, b: 2 } });
    await client.close();
    const metrics = await (await get(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toContain(
      'multi_mcp_relayed_requests_total{backend="calc",method="tools/call",outcome="ok"} 1',
    );
    await proxy.stop();
  });
});

describe('--admin-token-file', () => {
  it('takes a rewritten token file without a restart: the old token 401, the new one 200', async () => {
    const file = join(freshDir(), 'token');
    writeFileSync(file, 'token-one\n');
    const proxy = await startHttpProxy(undefined, ['--admin-port', '0', '--admin-token-file', file]);
    const servers = `${proxy.adminUrl}/mcp_servers`;
    expect((await get(servers)).status).toBe(401);
    expect((await get(servers, 'token-one')).status).toBe(200);

    writeFileSync(file, 'token-two\n');
    await untilStatus(servers, 'token-two', 200);
    expect((await get(servers, 'token-one')).status).toBe(401);

    // A broken update fails closed (never open, never the retired token) and is logged; a fix reopens.
    writeFileSync(file, 'token-three and some words\n');
    await untilStatus(servers, 'token-two', 503);
    const refused = await get(servers, 'token-two');
    expect(((await refused.json()) as { error: string }).error).toContain('whitespace at character 12');
    expect(proxy.output()).toMatch(/ERROR admin token file unusable.*whitespace/);
    expect(proxy.output()).not.toContain('token-three');
    writeFileSync(file, 'token-four');
    await untilStatus(servers, 'token-four', 200);
    expect((await get(servers, 'token-two')).status).toBe(401);
    expect(proxy.child.exitCode).toBeNull();
    await proxy.stop();
  });

  it('follows a Kubernetes Secret volume update (the kubelet swaps the ..data symlink)', async () => {
    const dir = freshDir();
    const version = (n: number): string => `..2026_12_01_00_0${n}_00.${n}`;
    const publish = (n: number, token: string): void => {
      mkdirSync(join(dir, version(n)));
      writeFileSync(join(dir, version(n), 'admin-token'), token);
      symlinkSync(version(n), join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      if (n > 1) rmSync(join(dir, version(n - 1)), { recursive: true });
    };
    publish(1, 'secret-v1');
    symlinkSync('..data/admin-token', join(dir, 'admin-token'));
    // The MCP and admin routes share the listener here, as without --admin-port.
    const proxy = await startHttpProxy(undefined, ['--admin-token-file', join(dir, 'admin-token')]);
    const tools = `${proxy.adminUrl}/mcp_tools`;
    expect((await get(tools, 'secret-v1')).status).toBe(200);

    for (const [n, token, old] of [
      [2, 'secret-v2', 'secret-v1'],
      [3, 'secret-v3', 'secret-v2'],
    ] as const) {
      publish(n, token);
      await untilStatus(tools, token, 200);
      expect((await get(tools, old)).status).toBe(401);
    }
    expect(proxy.output()).toContain('admin token rotated');
    await proxy.stop();
  });

  it.each([
    ['empty', '', /admin-token is empty/],
    ['two lines', 'one-token\nanother-token\n', /admin-token has 2 lines/],
    ['whitespace inside', 'half token\n', /admin-token contains whitespace at character 5/],
  ])('refuses to start from a malformed file (%s) with exit code 2', async (_what, content, message) => {
    const file = join(freshDir(), 'admin-token');
    writeFileSync(file, content);
    const proc = start(process.execPath, [
      cliPath,
      '--transport',
      'http',
      '--port',
      '0',
      '--admin-token-file',
      file,
    ]);
    expect(await waitForExit(proc)).toBe(2);
    expect(proc.output()).toMatch(message);
    expect(proc.output()).toContain('exactly one token');
  });

  it('refuses a token file that does not exist, and both token flags at once', async () => {
    const missing = start(process.execPath, [
      cliPath,
      '--transport',
      'http',
      '--admin-token-file',
      '/nonexistent/tok',
    ]);
    expect(await waitForExit(missing)).toBe(2);
    expect(missing.output()).toContain('/nonexistent/tok does not exist');

    const both = start(process.execPath, [cliPath, '--admin-token', 'x', '--admin-token-file', '/tmp/x']);
    expect(await waitForExit(both)).not.toBe(0);
    expect(both.output()).toMatch(/--admin-token-file.*cannot be used with.*--admin-token/);
  });
});

describe('an admin API beyond loopback without a token', () => {
  // 198.18.0.1 is on no interface here: if the refusal were missing, binding would fail (exit 1),
  // so the test can never open anything beyond loopback.
  it.each([
    ['on the MCP port', ['--host', '198.18.0.1', '--port', '0']],
    ['on its own port', ['--port', '0', '--admin-port', '0', '--admin-host', '198.18.0.1']],
  ])('is refused at start %s, with exit code 2 and how to fix it', async (_where, flags) => {
    const proc = start(process.execPath, [cliPath, '--transport', 'http', ...flags]);
    expect(await waitForExit(proc)).toBe(2);
    const output = proc.output();
    expect(output).toContain('refusing to start');
    expect(output).toContain('198.18.0.1');
    expect(output).toContain('--admin-token-file <path>');
    expect(output).toContain('--admin-port <port>');
  });

  it('refuses --admin-host without --admin-port', async () => {
    const proc = start(process.execPath, [cliPath, '--transport', 'http', '--admin-host', '127.0.0.1']);
    expect(await waitForExit(proc)).toBe(2);
    expect(proc.output()).toContain('--admin-host needs --admin-port');
  });
});

describe('--allow-command', () => {
  it('limits what the admin API may start, never what the config file starts', async () => {
    // The config file's backend runs `node`, which the list does not name: the file is the operator's.
    const config = writeTempFile('mcp.json', { mcpServers: { calc: fixture('calculator.ts') } });
    const proxy = await startHttpProxy(config, [
      '--allow-command',
      '/opt/mcp/bin/*',
      '--allow-command',
      'uvx',
    ]);
    const calc = (await (await get(`${proxy.adminUrl}/mcp_servers/calc`)).json()) as { state: string };
    expect(calc.state).toBe('ready');

    const post = await fetch(`${proxy.adminUrl}/mcp_servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpServers: { units: fixture('unit-converter.ts') } }),
    });
    expect(post.status).toBe(403);
    const { error } = (await post.json()) as { error: string };
    expect(error).toContain(`command ${JSON.stringify(process.execPath)} of mcpServers.units`);
    expect(error).toContain(`--allow-command ${JSON.stringify(process.execPath)}`);
    const listed = (await (await get(`${proxy.adminUrl}/mcp_servers`)).json()) as {
      active_servers: string[];
    };
    expect(listed.active_servers).toEqual(['calc']);
    await proxy.stop();
  });
});
