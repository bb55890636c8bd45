import { renameSync, writeFileSync } from 'node:fs';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyClient } from './support/clients.js';
import { v1Http, v1Stdio } from './support/clients.js';
import { cliPath, fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, stopAll, waitUntil } from './support/processes.js';

// Virtual servers through real SDK clients and a real proxy process with two backends: each
// virtual server's endpoint lists only its selection, and nothing outside it can be called,
// got or read, on every front door (Streamable HTTP in both eras, legacy SSE, stdio).

const info = { name: 'virtual-e2e', version: '1.0.0' };
const clients: AnyClient[] = [];
let proxy: RunningProxy;
let configPath: string;

const backends = { weather: fixture('weather.ts'), calculator: fixture('calculator.ts') };
const virtualServers = {
  // One backend, one of its tools hidden by a glob over exposed names.
  forecast: { backends: ['weather'], tools: { exclude: ['*__get_alerts'] } },
  // Every backend (the default), tools picked across them by name.
  math: { tools: { include: ['calculator__add', 'calculator__multiply'] } },
};

async function v1At(path: string): Promise<Client> {
  const client = new Client(info);
  clients.push(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}${path}`)));
  return client;
}

async function v1SseAt(path: string): Promise<Client> {
  const client = new Client(info);
  clients.push(client);
  await client.connect(new SSEClientTransport(new URL(`${proxy.url}${path}`)));
  return client;
}

async function v2ModernAt(path: string): Promise<ClientV2> {
  const client = new ClientV2(info, { versionNegotiation: { mode: 'auto' } });
  clients.push(client);
  await client.connect(new HttpV2(new URL(`${proxy.url}${path}`)));
  return client;
}

/** The error a call gets, as the client sees it (message with the name replaced, and code). */
async function refusal(
  call: () => Promise<unknown>,
  name: string,
): Promise<{ code: unknown; message: string }> {
  const error = (await call().then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: unknown; message?: string } | undefined;
  expect(error, `${name} was served`).toBeDefined();
  return { code: error?.code, message: (error?.message ?? '').replaceAll(name, '<name>') };
}

const put = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${proxy.adminUrl}${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  configPath = writeTempFile('mcp.json', { mcpServers: backends, virtualServers });
  proxy = await startHttpProxy(configPath);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
});

describe('virtual servers', () => {
  it('lists only the selection on /mcp/<name>, the whole catalog still on /mcp', async () => {
    const whole = await v1Http(proxy.url);
    clients.push(whole);
    expect((await whole.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'calculator__add',
      'calculator__divide',
      'calculator__multiply',
      'calculator__subtract',
      'weather__get_alerts',
      'weather__get_forecast',
    ]);

    const forecast = await v1At('/mcp/forecast');
    expect((await forecast.listTools()).tools.map((t) => t.name)).toEqual(['weather__get_forecast']);
    expect((await forecast.listPrompts()).prompts.map((p) => p.name)).toEqual(['weather__plan-trip']);
    expect((await forecast.listResources()).resources.map((r) => r.uri)).toEqual(['weather://cities']);

    const math = await v1At('/mcp/math');
    expect((await math.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'calculator__add',
      'calculator__multiply',
    ]);
    const sum = await math.callTool({ name: 'calculator__add', arguments: { a: 2, b: 3 } });
    expect(sum.structuredContent).toEqual({ result: 5 });
  });

  it('refuses a hidden tool, prompt or resource exactly as it refuses an unknown one', async () => {
    const forecast = await v1At('/mcp/forecast');
    const unknownTool = await refusal(
      () => forecast.callTool({ name: 'no_such__tool', arguments: {} }),
      'no_such__tool',
    );
    expect(unknownTool.code).toBe(-32602);
    for (const hidden of ['weather__get_alerts', 'calculator__add']) {
      expect(
        await refusal(() => forecast.callTool({ name: hidden, arguments: { city: 'Paris' } }), hidden),
      ).toEqual(unknownTool);
    }
    // Both exist on the whole catalog: the refusal is the view's, not a missing tool.
    const whole = await v1Http(proxy.url);
    clients.push(whole);
    const alerts = await whole.callTool({ name: 'weather__get_alerts', arguments: { city: 'Paris' } });
    expect(alerts.isError).toBeFalsy();

    const unknownPrompt = await refusal(() => forecast.getPrompt({ name: 'nope' }), 'nope');
    expect(
      await refusal(
        () =>
          forecast.getPrompt({ name: 'calculator__explain-calculation', arguments: { expression: '1+1' } }),
        'calculator__explain-calculation',
      ),
    ).toEqual(unknownPrompt);

    const unknownResource = await refusal(() => forecast.readResource({ uri: 'nope://x' }), 'nope://x');
    expect(
      await refusal(() => forecast.readResource({ uri: 'calculator://constants' }), 'calculator://constants'),
    ).toEqual(unknownResource);
    expect(await whole.readResource({ uri: 'calculator://constants' })).toHaveProperty('contents');
    await expect(forecast.subscribeResource({ uri: 'calculator://constants' })).rejects.toThrow(
      /Unknown resource/,
    );
  });

  it('serves the 2026-07-28 era statelessly on /mcp/<name>', async () => {
    const client = await v2ModernAt('/mcp/forecast');
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['weather__get_forecast']);
    await expect(
      client.callTool({ name: 'weather__get_alerts', arguments: { city: 'Paris' } }),
    ).rejects.toThrow(/Unknown tool/);
    const forecast = await client.callTool({ name: 'weather__get_forecast', arguments: { city: 'Paris' } });
    expect(forecast.isError).toBeFalsy();
  });

  it('serves legacy SSE on /sse/<name> with its own messages endpoint', async () => {
    const client = await v1SseAt('/sse/math');
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'calculator__add',
      'calculator__multiply',
    ]);
    await expect(
      client.callTool({ name: 'calculator__subtract', arguments: { a: 1, b: 1 } }),
    ).rejects.toThrow(/Unknown tool/);
    const product = await client.callTool({ name: 'calculator__multiply', arguments: { a: 6, b: 7 } });
    expect(product.structuredContent).toEqual({ result: 42 });
  });

  it('serves one virtual server over stdio with --virtual, and refuses an undefined name', async () => {
    const args = [cliPath, '--transport', 'stdio', '--config', configPath, '--log-level', 'warn'];
    const client = await v1Stdio(process.execPath, [...args, '--virtual', 'forecast']);
    clients.push(client);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['weather__get_forecast']);
    await expect(client.callTool({ name: 'calculator__add', arguments: { a: 1, b: 2 } })).rejects.toThrow(
      /Unknown tool/,
    );
    await expect(v1Stdio(process.execPath, [...args, '--virtual', 'nope'])).rejects.toThrow();
  });

  it('answers an undefined virtual server with 404, and keeps a session to the endpoint that opened it', async () => {
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: info },
    };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const missing = await fetch(`${proxy.url}/mcp/nope`, {
      method: 'POST',
      headers,
      body: JSON.stringify(initialize),
    });
    expect(missing.status).toBe(404);
    expect(JSON.stringify(await missing.json())).toContain('no virtual server named \\"nope\\"');

    const opened = await fetch(`${proxy.url}/mcp/forecast`, {
      method: 'POST',
      headers,
      body: JSON.stringify(initialize),
    });
    expect(opened.status).toBe(200);
    const id = opened.headers.get('mcp-session-id') ?? '';
    await opened.text();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const elsewhere = await fetch(`${proxy.url}/mcp/math`, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify(list),
    });
    expect(elsewhere.status).toBe(404);
  });

  it('restores a sealed session on another replica only at the endpoint that opened it', async () => {
    const keyFile = writeTempFile('session.key', `${Buffer.from('v'.repeat(32)).toString('base64')}\n`);
    const [a, b] = await Promise.all([
      startHttpProxy(configPath, ['--session-key-file', keyFile]),
      startHttpProxy(configPath, ['--session-key-file', keyFile]),
    ]);
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const opened = await fetch(`${a.url}/mcp/forecast`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: info },
      }),
    });
    const id = opened.headers.get('mcp-session-id') ?? '';
    await opened.text();
    const list = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
      });
    expect((await list(`${b.url}/mcp/math`)).status).toBe(404);
    expect((await list(`${b.url}/mcp`)).status).toBe(404);
    const restored = await list(`${b.url}/mcp/forecast`);
    expect(restored.status).toBe(200);
    expect(await restored.text()).toContain('weather__get_forecast');
    await Promise.all([a.stop(), b.stop()]);
  });

  it('manages virtual servers through the admin API, with errors naming field and value', async () => {
    const bad = await put('/virtual_servers/team', { backends: ['weather'], tools: { includes: ['x'] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/team\.tools.*includes/);
    const badScope = await put('/virtual_servers/team', { scopes: ['two words'] });
    expect(badScope.status).toBe(400);
    expect(JSON.stringify(await badScope.json())).toMatch(/team\.scopes\[0\]/);
    const badName = await put('/virtual_servers/bad.name', {});
    expect(badName.status).toBe(400);
    expect(JSON.stringify(await badName.json())).toContain('bad.name');

    const created = await put('/virtual_servers/team', { backends: ['weather', 'later'] });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { warnings: string[]; virtualServer: { tools: string[] } };
    expect(body.warnings).toEqual([expect.stringMatching(/team\.backends.*"later"/)]);
    expect(body.virtualServer.tools.sort()).toEqual(['weather__get_alerts', 'weather__get_forecast']);
    expect((await put('/virtual_servers/team', { backends: ['later', 'weather'] })).status).toBe(200);

    const team = await v1At('/mcp/team');
    expect((await team.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'weather__get_alerts',
      'weather__get_forecast',
    ]);
    const listed = (await fetch(`${proxy.adminUrl}/virtual_servers`).then((r) => r.json())) as {
      virtualServers: { name: string; owner: string }[];
    };
    expect(listed.virtualServers.map((v) => [v.name, v.owner])).toEqual([
      ['forecast', 'file'],
      ['math', 'file'],
      ['team', 'api'],
    ]);
    // The file's definitions belong to the file.
    const taken = await put('/virtual_servers/forecast', {});
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { error: string }).error).toContain('owned by "file"');

    const removed = await fetch(`${proxy.adminUrl}/virtual_servers/team`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect((await fetch(`${proxy.adminUrl}/virtual_servers/team`)).status).toBe(404);
    // Every request is checked against the definition: a session of a removed virtual server is refused.
    await expect(team.listTools()).rejects.toThrow(/no virtual server named \\"team\\"/);
    expect((await fetch(`${proxy.url}/mcp/team`, { method: 'POST' })).status).toBe(404);

    // An owner's declarative sync: its set is replaced whole.
    const sync = await put('/virtual_servers', {
      owner: 'ops',
      revision: '7',
      virtualServers: { a: {}, b: {} },
    });
    expect(await sync.json()).toMatchObject({ owner: 'ops', revision: '7', created: ['a', 'b'] });
    const again = await put('/virtual_servers', { owner: 'ops', revision: '8', virtualServers: { b: {} } });
    expect(await again.json()).toMatchObject({ unchanged: ['b'], removed: ['a'] });
    const badSync = await put('/virtual_servers', {
      owner: 'ops',
      virtualServers: { b: { backends: 'weather' } },
    });
    expect(badSync.status).toBe(400);
    expect(JSON.stringify(await badSync.json())).toContain('virtualServers.b.backends');
    await put('/virtual_servers', { owner: 'ops', virtualServers: {} });
    // The seed-compatible POST /mcp_servers takes servers only: views there would be ignored, so they are refused.
    const posted = await fetch(`${proxy.adminUrl}/mcp_servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpServers: {}, virtualServers: { x: {} } }),
    });
    expect(posted.status).toBe(400);
    expect(JSON.stringify(await posted.json())).toContain('PUT /virtual_servers');
  });

  it('admits nobody to a virtual server that asks for scopes when OAuth is off', async () => {
    expect((await put('/virtual_servers/locked', { scopes: ['mcp:tools'] })).status).toBe(201);
    const refused = await fetch(`${proxy.url}/mcp/locked`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'OAuth is off',
    );
    await fetch(`${proxy.adminUrl}/virtual_servers/locked`, { method: 'DELETE' });
  });

  it('tells a virtual server’s sessions of list changes only when their view changed', async () => {
    const math = await v1At('/mcp/math');
    const forecast = await v1At('/mcp/forecast');
    await Promise.all([math.listTools(), forecast.listTools()]);
    let mathChanged = 0;
    let forecastChanged = 0;
    math.setNotificationHandler(ToolListChangedNotificationSchema, () => void mathChanged++);
    forecast.setNotificationHandler(ToolListChangedNotificationSchema, () => void forecastChanged++);
    // 2026-07-28 clients hear it on their subscriptions/listen stream, the same way.
    const modernMath = await v2ModernAt('/mcp/math');
    const modernForecast = await v2ModernAt('/mcp/forecast');
    let modernMathChanged = 0;
    let modernForecastChanged = 0;
    modernMath.setNotificationHandler('notifications/tools/list_changed', () => void modernMathChanged++);
    modernForecast.setNotificationHandler(
      'notifications/tools/list_changed',
      () => void modernForecastChanged++,
    );
    await Promise.all([
      modernMath.listen({ toolsListChanged: true }),
      modernForecast.listen({ toolsListChanged: true }),
    ]);
    // The file owns math: its edit goes through the file, as an editor saves it (rename over).
    const next = {
      mcpServers: backends,
      virtualServers: { ...virtualServers, math: { tools: { include: ['calculator__add'] } } },
    };
    writeFileSync(`${configPath}.tmp`, JSON.stringify(next));
    renameSync(`${configPath}.tmp`, configPath);
    await waitUntil(async () => mathChanged > 0, 10_000, 'math heard tools/list_changed');
    await waitUntil(async () => modernMathChanged > 0, 10_000, 'a 2026-07-28 math client heard it');
    expect((await math.listTools()).tools.map((t) => t.name)).toEqual(['calculator__add']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(forecastChanged).toBe(0);
    expect(modernForecastChanged).toBe(0);
  });

  it('picks up a virtual server added to the config file while running', async () => {
    const next = {
      mcpServers: backends,
      virtualServers: { ...virtualServers, alerts: { tools: { include: ['*alerts'] } } },
    };
    writeFileSync(`${configPath}.tmp`, JSON.stringify(next));
    renameSync(`${configPath}.tmp`, configPath);
    await waitUntil(
      async () => (await fetch(`${proxy.adminUrl}/virtual_servers/alerts`)).ok,
      10_000,
      'alerts defined',
    );
    const alerts = await v1At('/mcp/alerts');
    expect((await alerts.listTools()).tools.map((t) => t.name)).toEqual(['weather__get_alerts']);
  });
});
