import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1Sse } from './support/clients.js';
import { fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { childPids, startHttpProxy, stopAll, waitUntil } from './support/processes.js';

// What scripts written against the original multi-mcp rely on, checked against its README
// (../shared/seed/multi-mcp.md) and its own lifecycle test: the admin API on the MCP port,
// `POST /mcp_servers` with the README's add_server.json, `GET /mcp_tools` grouped by server.

let proxy: RunningProxy;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  const config = writeTempFile('mcp.json', {
    mcpServers: { weather: fixture('weather.ts'), calculator: fixture('calculator.ts') },
  });
  proxy = await startHttpProxy(config, ['--separator', '::']);
}, 60_000);
afterAll(stopAll);

/** The README's add_server.json, with the repo's unit converter in place of ./tools/unit_converter.py. */
const addServer = {
  mcpServers: { unit_converter: fixture('unit-converter.ts') },
};

describe('seed compatibility', () => {
  it('adds the README\'s add_server.json with 200 and "Added [...]", restarting nothing', async () => {
    const pid = proxy.child.pid ?? 0;
    const before = childPids(pid);
    expect(before).toHaveLength(2);
    const weatherSince = (
      (await (await fetch(`${proxy.url}/mcp_servers/weather`)).json()) as { since: string }
    ).since;

    const response = await fetch(`${proxy.url}/mcp_servers`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(addServer),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { message: string }).message).toBe("Added ['unit_converter']");

    const listed = (await (await fetch(`${proxy.url}/mcp_servers`)).json()) as { active_servers: string[] };
    expect(listed.active_servers).toEqual(['weather', 'calculator', 'unit_converter']);
    await waitUntil(async () => childPids(pid).length === 3, 20_000, 'the unit converter process started');
    // The two that were running are the same processes, untouched.
    expect(childPids(pid).filter((child) => before.includes(child))).toEqual(before);
    const weather = (await (await fetch(`${proxy.url}/mcp_servers/weather`)).json()) as {
      since: string;
      restarts: number;
    };
    expect(weather).toMatchObject({ since: weatherSince, restarts: 0 });
  });

  it("lists tools grouped by server, as the original's GET /mcp_tools", async () => {
    await waitUntil(
      async () =>
        ((await (await fetch(`${proxy.url}/mcp_servers/unit_converter`)).json()) as { state: string })
          .state === 'ready',
      20_000,
      'unit_converter ready',
    );
    const body = (await (await fetch(`${proxy.url}/mcp_tools`)).json()) as {
      tools: Record<string, string[] | string>;
      routes: Record<string, { backend: string; name: string }>;
    };
    expect(body.tools).toEqual({
      weather: ['get_forecast', 'get_alerts'],
      calculator: ['add', 'subtract', 'multiply', 'divide'],
      unit_converter: ['convert'],
    });
    // What the original's lifecycle test does with it: flatten the lists, skip error strings.
    const all = Object.values(body.tools).flatMap((tools) => (Array.isArray(tools) ? tools : []));
    expect(all).toContain('convert');
    expect(body.routes['unit_converter::convert']).toEqual({ backend: 'unit_converter', name: 'convert' });

    // And the added server's tools work through the proxy, over the original's SSE endpoint.
    const client = await v1Sse(proxy.url);
    const result = await client.callTool({
      name: 'unit_converter::convert',
      arguments: { value: 100, from: 'C', to: 'F' },
    });
    expect(JSON.stringify(result.content)).toContain('212');
    await client.close();
  });

  it('answers DELETE of an unknown name with 404 and a JSON error, and removes a known one', async () => {
    const unknown = await fetch(`${proxy.url}/mcp_servers/no_such_server`, { method: 'DELETE' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/json');
    expect(((await unknown.json()) as { error: string }).error).toContain('no_such_server');

    const removed = await fetch(`${proxy.url}/mcp_servers/unit_converter`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    const listed = (await (await fetch(`${proxy.url}/mcp_servers`)).json()) as { active_servers: string[] };
    expect(listed.active_servers).not.toContain('unit_converter');
  });

  it('reports a server that cannot start as its error string in place of the tool list', async () => {
    const response = await fetch(`${proxy.url}/mcp_servers`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ mcpServers: { broken: fixture('crash-at-start.ts') } }),
    });
    expect(response.status).toBe(200);
    await waitUntil(
      async () =>
        typeof ((await (await fetch(`${proxy.url}/mcp_tools`)).json()) as { tools: Record<string, unknown> })
          .tools['broken'] === 'string',
      20_000,
      'broken reported',
    );
    const body = (await (await fetch(`${proxy.url}/mcp_tools`)).json()) as { tools: Record<string, unknown> };
    expect(body.tools['broken']).toMatch(/^backend "broken" is not ready \((connecting|failed)/);
    expect(body.tools['weather']).toEqual(['get_forecast', 'get_alerts']);
  });
});
