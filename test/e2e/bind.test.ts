import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, writeTempFile } from './support/paths.js';
import type { Started } from './support/processes.js';
import { start, stop, waitForExit, waitForOutput } from './support/processes.js';

// A real bind beyond loopback: a network namespace of this test run's own, whose loopback device
// also carries 198.18.0.2 (a benchmarking address, never routed). The proxy and every request to
// it run inside the namespace, so nothing is reachable from, or bound on, the machine's network.
// Needs root and iproute2 (`ip`), as CI has.

const run = promisify(execFile);
const namespace = `mmcp-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
const address = '198.18.0.2';
const config = writeTempFile('mcp.json', { mcpServers: {} });
const token = 'e2e-admin-token';
let created = false;

beforeAll(async () => {
  try {
    await run('ip', ['netns', 'add', namespace]);
    created = true;
    await run('ip', ['-n', namespace, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    throw new Error(
      `cannot set up network namespace ${namespace} (needs root and iproute2's ip): ${(error as Error).message}`,
    );
  }
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => stop(p.child)));
  if (created) await run('ip', ['netns', 'del', namespace]);
});

const proxies: Started[] = [];

/** Starts the CLI inside the namespace, bound to the non-loopback address; resolves with its URL. */
async function startInNamespace(extra: string[]): Promise<string> {
  const proc = start('ip', [
    ...['netns', 'exec', namespace, process.execPath, cliPath],
    ...['--transport', 'http', '--host', address, '--port', '0', '--config', config, ...extra],
  ]);
  proxies.push(proc);
  const [, url] = await waitForOutput(proc, /listening .*mcp=(http:\/\/198\.18\.0\.2:\d+)\/mcp/);
  if (!url) throw new Error('no url');
  return url;
}

interface Answer {
  status: number;
  body: string;
}

/** One HTTP request made from inside the namespace (the address exists nowhere else). */
async function inNamespace(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const script =
    'const [url, init] = JSON.parse(process.argv[1]);' +
    'fetch(url, { ...init, signal: AbortSignal.timeout(10000) })' +
    '.then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))' +
    '.catch((e) => { process.stderr.write(String(e)); process.exit(1); });';
  const { stdout } = await run(
    'ip',
    ['netns', 'exec', namespace, process.execPath, '-e', script, JSON.stringify([url, init])],
    { timeout: 20_000 },
  );
  return JSON.parse(stdout) as Answer;
}

const addServer = {
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ command: 'node', args: ['x'], disabled: true }),
};

describe(`a bind beyond loopback (${address} in a network namespace)`, () => {
  it('refuses to start without an admin token, saying how to fix it', async () => {
    const proc = start('ip', [
      ...['netns', 'exec', namespace, process.execPath, cliPath],
      ...['--transport', 'http', '--host', address, '--port', '0', '--config', config],
    ]);
    proxies.push(proc);
    expect(await waitForExit(proc)).toBe(2);
    expect(proc.output()).toContain(`would be served on ${address}, beyond loopback, without a token`);
    expect(proc.output()).toContain('--admin-token-file');
    expect(proc.output()).toContain('--admin-port');
    expect(proc.output()).not.toMatch(/listening/);
  });

  it('with the admin API on its own loopback listener, serves MCP beyond loopback and no admin routes there', async () => {
    const url = await startInNamespace(['--admin-port', '0']);
    expect((await inNamespace(`${url}/healthz`)).status).toBe(200);
    const list = await inNamespace(`${url}/mcp_servers`);
    expect(list.status).toBe(404);
    expect(JSON.parse(list.body)).toEqual({ error: expect.stringContaining('--admin-port') });
    expect((await inNamespace(`${url}/mcp_servers/sneaky`, addServer)).status).toBe(404);
  });

  it('with an admin token, answers 401 without or with a wrong one and 200 with the right one', async () => {
    const url = await startInNamespace(['--admin-token', token]);
    const missing = await inNamespace(`${url}/mcp_servers`);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ error: expect.stringContaining('Authorization: Bearer') });
    expect(
      (await inNamespace(`${url}/mcp_servers`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect((await inNamespace(`${url}/mcp_servers/sneaky`, addServer)).status).toBe(401);

    const bearer = { authorization: `Bearer ${token}` };
    const list = await inNamespace(`${url}/mcp_servers`, { headers: bearer });
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body)).toMatchObject({ servers: [] });
    const add = await inNamespace(`${url}/mcp_servers/allowed`, {
      ...addServer,
      headers: { ...addServer.headers, ...bearer },
    });
    expect(add.status).toBe(201);
  });
});
