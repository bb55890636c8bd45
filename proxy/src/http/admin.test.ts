import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

// The admin API over real HTTP. Most backends here are `disabled` (never spawned): the API's
// behaviour does not depend on a live connection, and the tests stay fast.

interface ErrorBody {
  error: string;
  issues?: string[];
}

const idle = (tag: string) => ({ command: 'node', args: [tag], disabled: true });

describe('admin API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.proxy.markReadyWhenSettled(1_000);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('adds backends from an mcp.json body and lists them with status, secrets redacted', async () => {
    const added = await h.call('POST', '/mcp_servers', {
      mcpServers: {
        local: { ...idle('local'), env: { API_KEY: 'sk-secret' } },
        remote: {
          url: 'http://user:pw@127.0.0.1:9/mcp',
          headers: { Authorization: 'Bearer t0ken' },
          disabled: true,
        },
      },
    });
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({ owner: 'api', created: ['local', 'remote'] });

    const listed = await h.call('GET', '/mcp_servers');
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain('sk-secret');
    expect(text).not.toContain('t0ken');
    expect(text).not.toContain(':pw@');
    const body = JSON.parse(text) as { active_servers: string[]; servers: Record<string, unknown>[] };
    expect(body.active_servers).toEqual(expect.arrayContaining(['local', 'remote']));
    const local = body.servers.find((s) => s['name'] === 'local');
    expect(local).toMatchObject({ owner: 'api', state: 'stopped', restarts: 0, tools: [], error: null });
    expect(local?.['spec']).toMatchObject({ env: { API_KEY: '<redacted>' } });

    const one = await h.call('GET', '/mcp_servers/remote');
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      name: 'remote',
      spec: { headers: { Authorization: '<redacted>' } },
    });
  });

  it('rejects a bad body with 400 naming the field and the value', async () => {
    const response = await h.call('POST', '/mcp_servers', { mcpServers: { weather: { url: 'htp:/x' } } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.issues?.join('\n')).toContain('mcpServers.weather.url');
    expect(body.issues?.join('\n')).toContain('htp:/x');

    const wrongKey = await h.call('POST', '/mcp_servers', { servers: {} });
    expect(wrongKey.status).toBe(400);
    expect(((await wrongKey.json()) as ErrorBody).issues?.join('\n')).toContain('mcpServers');

    const notJson = await h.call('POST', '/mcp_servers', '{"mcpServers": ', {
      'content-type': 'application/json',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ErrorBody).error).toContain('not valid JSON');

    const badSpec = await h.call('PUT', '/mcp_servers/weather', { command: 'x', url: 'http://127.0.0.1:9' });
    expect(badSpec.status).toBe(400);
    expect(((await badSpec.json()) as ErrorBody).issues?.join('\n')).toContain('weather');

    const badName = await h.call('PUT', '/mcp_servers/has%20space', idle('x'));
    expect(badName.status).toBe(400);
  });

  it('answers unknown names with 404', async () => {
    for (const [method, path] of [
      ['GET', '/mcp_servers/nope'],
      ['DELETE', '/mcp_servers/nope'],
      ['GET', '/no/such/route'],
    ] as const) {
      const response = await h.call(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(((await response.json()) as ErrorBody).error).toMatch(/nope|no route/);
    }
  });

  it('upserts idempotently: an unchanged spec keeps the running backend', async () => {
    const created = await h.call('PUT', '/mcp_servers/steady', idle('steady'));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'steady', outcome: 'created' });
    const before = h.proxy.registry.get('steady');

    const again = await h.call('PUT', '/mcp_servers/steady', idle('steady'));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ outcome: 'unchanged' });
    expect(h.proxy.registry.get('steady')).toBe(before);

    // A new prefix is a catalog change: same backend object, new spec.
    const renamed = await h.call('PUT', '/mcp_servers/steady', { ...idle('steady'), prefix: 's' });
    expect(await renamed.json()).toMatchObject({ outcome: 'updated' });
    expect(h.proxy.registry.get('steady')).toBe(before);
    expect(h.proxy.registry.get('steady')?.spec.prefix).toBe('s');

    const changed = await h.call('PUT', '/mcp_servers/steady', { ...idle('steady'), args: ['other'] });
    expect(await changed.json()).toMatchObject({ outcome: 'updated' });
    expect(h.proxy.registry.get('steady')).not.toBe(before);

    const removed = await h.call('DELETE', '/mcp_servers/steady');
    expect(removed.status).toBe(200);
    expect(h.proxy.registry.get('steady')).toBeUndefined();
  });

  it("refuses to touch another owner's backend with 409", async () => {
    const owned = await h.call('PUT', '/mcp_servers/theirs', idle('theirs'), {
      'x-multi-mcp-owner': 'operator',
    });
    expect(owned.status).toBe(201);

    const put = await h.call('PUT', '/mcp_servers/theirs', idle('mine'));
    expect(put.status).toBe(409);
    expect(((await put.json()) as ErrorBody).error).toContain('"operator"');

    const post = await h.call('POST', '/mcp_servers', { mcpServers: { theirs: idle('mine') } });
    expect(post.status).toBe(409);

    const del = await h.call('DELETE', '/mcp_servers/theirs', undefined, { 'x-multi-mcp-owner': 'api' });
    expect(del.status).toBe(409);
    expect(h.proxy.registry.get('theirs')?.owner).toBe('operator');
  });

  it("syncs exactly one owner's backends and reports the revision", async () => {
    await h.call('PUT', '/mcp_servers/bystander', idle('bystander'));
    const first = await h.call('PUT', '/mcp_servers', {
      owner: 'gitops',
      revision: 'r1',
      mcpServers: { one: idle('one'), two: idle('two') },
    });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      owner: 'gitops',
      revision: 'r1',
      created: ['one', 'two'],
      updated: [],
      unchanged: [],
      removed: [],
    });

    const second = await h.call('PUT', '/mcp_servers', {
      owner: 'gitops',
      revision: 'r2',
      mcpServers: { one: idle('one') },
    });
    expect(await second.json()).toMatchObject({ revision: 'r2', unchanged: ['one'], removed: ['two'] });
    expect(h.proxy.registry.get('two')).toBeUndefined();
    expect(h.proxy.registry.get('bystander')).toBeDefined();

    const noOwner = await h.call('PUT', '/mcp_servers', { mcpServers: {} });
    expect(noOwner.status).toBe(400);
    expect(((await noOwner.json()) as ErrorBody).issues?.join('\n')).toContain('owner');
  });
});

describe('admin API with real backends', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const response = await h.call('POST', '/mcp_servers', {
      mcpServers: {
        alpha: { ...fixtureServer('echo-named.ts', 'alpha'), prefix: '' },
        beta: { ...fixtureServer('echo-named.ts', 'beta'), prefix: '', tools: { exclude: ['crash'] } },
        broken: { command: 'multi-mcp-no-such-program-here' },
      },
    });
    expect(response.status).toBe(200);
    await h.proxy.markReadyWhenSettled(20_000);
  }, 30_000);
  afterAll(async () => {
    await h?.close();
  });

  it("lists tools per server in the original's shape, errors in place of a down server's list", async () => {
    const response = await h.call('GET', '/mcp_tools');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { tools: Record<string, string[] | string> };
    // Each server's own tool names (after its filter), as the original's `client.list_tools()` gave them.
    expect(body.tools['alpha']).toEqual(['whoami', 'echo', 'crash']);
    expect(body.tools['beta']).toEqual(['whoami', 'echo']);
    expect(typeof body.tools['broken']).toBe('string');
    expect(body.tools['broken']).toMatch(/backend "broken" is not ready \(failed: .*ENOENT/);
  });

  it('keeps the routing table and collisions under their own keys of the same answer', async () => {
    const body = (await h.call('GET', '/mcp_tools').then((r) => r.json())) as {
      routes: Record<string, { backend: string; name: string }>;
      collisions: { kind: string; exposed: string; keptBy: string; droppedFrom: string }[];
    };
    expect(body.routes['echo']).toEqual({ backend: 'alpha', name: 'echo' });
    expect(body.routes['crash']).toEqual({ backend: 'alpha', name: 'crash' });
    expect(body.collisions).toContainEqual(
      expect.objectContaining({ kind: 'tool', exposed: 'echo', keptBy: 'alpha', droppedFrom: 'beta' }),
    );

    const alpha = (await h.call('GET', '/mcp_servers/alpha').then((r) => r.json())) as Record<
      string,
      unknown
    >;
    expect(alpha).toMatchObject({ state: 'ready', transport: 'stdio', serverInfo: { name: 'alpha' } });
    // The version the connection negotiated, reported so operators can see it: the fixture is a
    // v2 server that answers server/discover, so the proxy speaks 2026-07-28 with it.
    const { protocolVersion } = alpha['serverInfo'] as { protocolVersion?: string };
    expect(protocolVersion).toBe('2026-07-28');
    expect(alpha['tools']).toEqual(expect.arrayContaining(['echo', 'whoami']));
  });

  it("adds with the original's answer and leaves the servers already there running", async () => {
    const alpha = h.proxy.registry.get('alpha');
    const response = await h.call('POST', '/mcp_servers', {
      mcpServers: {
        alpha: { ...fixtureServer('echo-named.ts', 'alpha'), prefix: '' },
        gamma: { ...fixtureServer('echo-named.ts', 'gamma'), prefix: 'g' },
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      message: "Added ['gamma']; unchanged ['alpha']",
      created: ['gamma'],
      unchanged: ['alpha'],
    });
    expect(h.proxy.registry.get('alpha')).toBe(alpha);
    expect(alpha?.state).toBe('ready');
  });
});

describe('admin API with --allow-command', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ allowCommands: ['node', '/opt/mcp/bin/*'] });
    await h.proxy.markReadyWhenSettled(1_000);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses commands outside the list with 403 naming the command and the flag, applying nothing', async () => {
    const post = await h.call('POST', '/mcp_servers', {
      mcpServers: { fine: idle('fine'), units: { command: 'python', args: ['./tools/unit_converter.py'] } },
    });
    expect(post.status).toBe(403);
    const error = ((await post.json()) as ErrorBody).error;
    expect(error).toContain('command "python" of mcpServers.units');
    expect(error).toContain('--allow-command "python"');
    // All or nothing: the allowed one in the same body was not added either.
    expect(h.proxy.registry.get('fine')).toBeUndefined();
    expect(h.proxy.registry.get('units')).toBeUndefined();

    const put = await h.call('PUT', '/mcp_servers/sh', { command: '/bin/sh', args: ['-c', 'id'] });
    expect(put.status).toBe(403);
    expect(((await put.json()) as ErrorBody).error).toContain('"/bin/sh"');

    const sync = await h.call('PUT', '/mcp_servers', {
      owner: 'operator',
      mcpServers: { x: { command: '/opt/mcp/bin/../../../bin/sh' } },
    });
    expect(sync.status).toBe(403);
    expect(h.proxy.registry.backends()).toEqual([]);
  });

  it('accepts listed commands and URL backends', async () => {
    const ok = await h.call('POST', '/mcp_servers', {
      mcpServers: {
        local: idle('local'),
        tool: { command: '/opt/mcp/bin/weather', disabled: true },
        remote: { url: 'http://127.0.0.1:9/mcp', disabled: true },
      },
    });
    expect(ok.status).toBe(200);
    expect(h.proxy.registry.backends().map((b) => b.name)).toEqual(['local', 'tool', 'remote']);
  });
});

describe('admin API with a running backend', () => {
  let h: Harness;
  let client: V1Client;
  beforeAll(async () => {
    h = await startHarness();
    await h.proxy.markReadyWhenSettled(1_000);
    client = new V1Client({ name: 'admin-test', version: '1.0.0' });
    await client.connect(new V1HttpTransport(new URL(`${h.url}/mcp`)));
  });
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  const status = async (name: string) =>
    (await h.call('GET', `/mcp_servers/${name}`).then((r) => r.json())) as {
      state: string;
      restarts: number;
      since: string;
    };
  const pidOf = async (tool: string): Promise<number> => {
    const result = await client.callTool({ name: tool, arguments: {} });
    return (result.structuredContent as { pid: number }).pid;
  };
  const until = async (what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('keeps the same process and connection on an unchanged PUT, and replaces both on a change', async () => {
    const spec = fixtureServer('probe.ts');
    expect((await h.call('PUT', '/mcp_servers/live', spec)).status).toBe(201);
    await until('live ready', async () => (await status('live')).state === 'ready');
    await until('live__pid listed', async () =>
      (await client.listTools()).tools.some((t) => t.name === 'live__pid'),
    );
    const before = await status('live');
    const pid = await pidOf('live__pid');

    const again = await h.call('PUT', '/mcp_servers/live', spec);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ outcome: 'unchanged' });
    expect(await status('live')).toEqual(expect.objectContaining({ ...before, state: 'ready', restarts: 0 }));
    expect(await pidOf('live__pid')).toBe(pid);
    expect(alive(pid)).toBe(true);

    // Prefix, tool filters and the call timeout are read per catalog build or per call: an edit of
    // them renames what clients see but keeps the connection and the process.
    const retuned = { ...spec, prefix: 'moved', tools: { exclude: ['env'] }, timeoutMs: 5_000 };
    const renamed = await h.call('PUT', '/mcp_servers/live', retuned);
    expect(await renamed.json()).toMatchObject({ outcome: 'updated' });
    await until('moved__pid listed', async () =>
      (await client.listTools()).tools.some((t) => t.name === 'moved__pid'),
    );
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).not.toContain('live__pid');
    expect(tools).not.toContain('moved__env');
    expect(await pidOf('moved__pid')).toBe(pid);
    expect(await status('live')).toMatchObject({ state: 'ready', restarts: 0, since: before.since });

    // The control: a change to how it is started (its environment) does restart it, so the checks
    // above could see a restart.
    const changed = await h.call('PUT', '/mcp_servers/live', { ...retuned, env: { PROBE_MARK: '1' } });
    expect(await changed.json()).toMatchObject({ outcome: 'updated' });
    await until('moved__pid answered by a new process', async () => {
      try {
        return (await pidOf('moved__pid')) !== pid;
      } catch {
        return false;
      }
    });
    await until('the old process gone', async () => !alive(pid), 10_000);
  }, 60_000);
});

describe('admin API access', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ adminToken: 's3cret-token' });
    await h.proxy.markReadyWhenSettled(1_000);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('requires the bearer token on every admin route when one is set', async () => {
    const missing = await h.call('GET', '/mcp_servers');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await missing.json()) as ErrorBody).error).toContain('Authorization: Bearer');

    const wrong = await h.call('PUT', '/mcp_servers/x', idle('x'), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(h.proxy.registry.get('x')).toBeUndefined();

    const tools = await h.call('GET', '/mcp_tools', undefined, { authorization: 'Bearer wrong' });
    expect(tools.status).toBe(401);

    const right = await h.call('GET', '/mcp_servers', undefined, { authorization: 'Bearer s3cret-token' });
    expect(right.status).toBe(200);
  });

  it('leaves MCP, health and metrics routes open', async () => {
    expect((await h.call('GET', '/healthz')).status).toBe(200);
    expect((await h.call('GET', '/metrics')).status).toBe(200);
    const init = await h.call(
      'POST',
      '/mcp',
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      },
      { accept: 'application/json, text/event-stream' },
    );
    expect(init.status).toBe(200);
    await init.text();
  });
});
