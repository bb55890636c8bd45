import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyClient } from './support/clients.js';
import { v1Http, v1Sse, v1Stdio, v2Http } from './support/clients.js';
import { everythingBin, fixture, memoryBin, repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, start, startHttpProxy, stopAll, waitUntil } from './support/processes.js';

// One proxy in HTTP mode in front of real backends over every backend transport, reached by
// real clients over every HTTP front door. Nothing here is mocked.
let proxy: RunningProxy;
let direct: ClientV1;
const clients: AnyClient[] = [];

beforeAll(async () => {
  const httpPort = await freePort();
  const ssePort = await freePort();
  const refusedPort = await freePort();
  // server-everything binds every interface; the tests only ever talk to it on 127.0.0.1.
  start(process.execPath, [everythingBin, 'streamableHttp'], { PORT: String(httpPort) });
  start(process.execPath, [everythingBin, 'sse'], { PORT: String(ssePort) });
  await waitUntil(
    async () => (await fetch(`http://127.0.0.1:${httpPort}/mcp`)).status > 0,
    20_000,
    'everything http',
  );
  await waitUntil(
    async () => (await fetch(`http://127.0.0.1:${ssePort}/`)).status > 0,
    20_000,
    'everything sse',
  );

  const config = writeTempFile('mcp.json', {
    mcpServers: {
      everything: { command: process.execPath, args: [everythingBin, 'stdio'] },
      everything_http: { url: `http://127.0.0.1:${httpPort}/mcp`, transport: 'streamable-http' },
      // No transport: the proxy tries Streamable HTTP first, then falls back to SSE.
      everything_sse: { url: `http://127.0.0.1:${ssePort}/sse` },
      memory: {
        command: process.execPath,
        args: [memoryBin],
        env: { MEMORY_FILE_PATH: writeTempFile('memory.jsonl', '') },
      },
      calculator: fixture('calculator.ts'),
      weather: fixture('weather.ts'),
      units: fixture('unit-converter.ts'),
      alpha: fixture('echo-named.ts', 'alpha'),
      beta: fixture('echo-named.ts', 'beta'),
      broken: fixture('crash-at-start.ts'),
      refused: { url: `http://127.0.0.1:${refusedPort}/mcp`, connectTimeoutMs: 3000 },
      silent: { ...fixture('never-initializes.ts'), connectTimeoutMs: 2000 },
    },
  });
  proxy = await startHttpProxy(config);
  direct = await v1Stdio(process.execPath, [everythingBin, 'stdio']);
}, 60_000);

afterAll(async () => {
  await Promise.all([...clients, direct].map((c) => c?.close().catch(() => {})));
  await stopAll();
});

function textOf(content: { text: string } | { blob: string } | undefined): string {
  if (!content || !('text' in content)) throw new Error('expected a text resource');
  return content.text;
}

const frontDoors: Array<[string, () => Promise<AnyClient>]> = [
  ['v1 client, Streamable HTTP session', () => v1Http(proxy.url)],
  ['v1 client, legacy SSE', () => v1Sse(proxy.url)],
  ['v2 client, 2025-era session', () => v2Http(proxy.url, false)],
  ['v2 client, 2026-07-28 stateless', () => v2Http(proxy.url, true)],
];

describe.each(frontDoors)('%s', (_name, connect) => {
  let client: AnyClient;
  beforeAll(async () => {
    client = await connect();
    clients.push(client);
  });

  it('sees the tools of every healthy backend, whatever transport the backend uses', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'everything__echo',
        'everything_http__echo',
        'everything_sse__echo',
        'memory__create_entities',
        'calculator__add',
        'weather__get_forecast',
        'units__convert',
        'alpha__whoami',
        'beta__whoami',
      ]),
    );
    expect(names.filter((n) => /^(broken|refused|silent)__/.test(n))).toEqual([]);
  });

  it('calls tools on stdio, Streamable HTTP and SSE backends', async () => {
    for (const name of ['everything__echo', 'everything_http__echo', 'everything_sse__echo']) {
      const result = await client.callTool({ name, arguments: { message: `via ${name}` } });
      expect(JSON.stringify(result.content)).toContain(`via ${name}`);
      expect(result.content).toEqual([{ type: 'text', text: `Echo: via ${name}` }]);
    }
    const sum = await client.callTool({ name: 'calculator__add', arguments: { a: 2, b: 3 } });
    expect(JSON.stringify(sum.content)).toContain('5');
    expect(sum.content).toEqual([{ type: 'text', text: '5' }]);
    expect(sum.structuredContent).toEqual({ result: 5 });
  });
});

describe('routing and pass-through (v1 client over Streamable HTTP)', () => {
  let client: ClientV1;
  beforeAll(async () => {
    client = await v1Http(proxy.url);
    clients.push(client);
  });

  it('keeps two backends’ same-named tools apart', async () => {
    const alpha = await client.callTool({ name: 'alpha__whoami', arguments: {} });
    const beta = await client.callTool({ name: 'beta__whoami', arguments: {} });
    expect(alpha.structuredContent).toEqual({ name: 'alpha' });
    expect(beta.structuredContent).toEqual({ name: 'beta' });
  });

  it('keeps state in a stateful backend (server-memory) across calls', async () => {
    const entity = { name: 'multi-mcp', entityType: 'project', observations: ['one endpoint, many servers'] };
    await client.callTool({ name: 'memory__create_entities', arguments: { entities: [entity] } });
    const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
    expect(JSON.stringify(graph)).toContain('one endpoint, many servers');
  });

  it('returns structured output and resource links exactly as the backend sent them', async () => {
    for (const [name, args] of [
      ['get-structured-content', { location: 'New York' }],
      ['get-resource-links', { count: 3 }],
    ] as const) {
      const viaProxy = await client.callTool({ name: `everything__${name}`, arguments: args });
      const straight = await direct.callTool({ name, arguments: args });
      expect(viaProxy).toEqual(straight);
    }
  });

  it('routes prompts/get to the backend that owns the prompt', async () => {
    const prompt = await client.getPrompt({
      name: 'calculator__explain-calculation',
      arguments: { expression: '6*7' },
    });
    expect(JSON.stringify(prompt.messages)).toContain('6*7');
    const straight = await direct.getPrompt({ name: 'simple-prompt' });
    expect(await client.getPrompt({ name: 'everything__simple-prompt' })).toEqual(straight);
  });

  it('reads listed resources and template resources from the right backend, URIs unchanged', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('calculator://constants');
    const constants = await client.readResource({ uri: 'calculator://constants' });
    expect(constants.contents[0]?.uri).toBe('calculator://constants');
    expect(JSON.parse(textOf(constants.contents[0]))).toHaveProperty('pi');

    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('units://{category}');
    const mass = await client.readResource({ uri: 'units://mass' });
    expect(JSON.parse(textOf(mass.contents[0]))).toMatchObject({ category: 'mass' });
    // server-everything stamps this text with the wall-clock time to the second, so two reads
    // straddling a second differ there: compare everything else exactly, the time by its shape.
    const uri = 'demo://resource/dynamic/text/7';
    const viaProxy = await client.readResource({ uri });
    const straight = await direct.readResource({ uri });
    const stamped = /^(Resource 7: This is a plaintext resource created at )\S.*$/;
    expect(textOf(viaProxy.contents[0])).toMatch(stamped);
    const untimed = (result: typeof viaProxy) => ({
      ...result,
      contents: result.contents.map((c) =>
        'text' in c ? { ...c, text: c.text.replace(stamped, '$1<time>') } : c,
      ),
    });
    expect(untimed(viaProxy)).toEqual(untimed(straight));
    expect(viaProxy.contents).toEqual([
      { uri, mimeType: 'text/plain', text: expect.stringMatching(stamped) },
    ]);
  });

  it('completes prompt arguments and template variables through the owning backend', async () => {
    const city = await client.complete({
      ref: { type: 'ref/prompt', name: 'weather__plan-trip' },
      argument: { name: 'city', value: 'Ber' },
    });
    expect(city.completion.values).toContain('Berlin');
    const category = await client.complete({
      ref: { type: 'ref/resource', uri: 'units://{category}' },
      argument: { name: 'category', value: 'te' },
    });
    expect(category.completion.values).toEqual(['temperature']);
  });

  it('answers unknown tools, prompts and resources with protocol errors naming them', async () => {
    await expect(client.callTool({ name: 'nope__tool', arguments: {} })).rejects.toThrow(/nope__tool/);
    await expect(client.getPrompt({ name: 'nope__prompt' })).rejects.toThrow(/nope__prompt/);
    await expect(client.readResource({ uri: 'nope://thing' })).rejects.toThrow(/nope:\/\/thing/);
  });

  it('reports each broken backend with its reason in the admin API and keeps serving', async () => {
    const response = await fetch(`${proxy.url}/mcp_servers`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      servers: Array<{ name: string; state: string; error?: string }>;
    };
    expect(Array.isArray(body.servers)).toBe(true);
    const byName = new Map(body.servers.map((s) => [s.name, s]));
    for (const name of ['broken', 'refused', 'silent']) {
      expect(byName.get(name)?.state).not.toBe('ready');
      expect(byName.get(name)?.error).toBeTruthy();
    }
    expect(byName.get('silent')?.error).toMatch(/2000 ms/);
    expect(byName.get('calculator')?.state).toBe('ready');
  });
});

describe('MCP Inspector CLI', () => {
  const build = join(repoRoot, 'node_modules/@modelcontextprotocol/inspector-cli/build');
  const inspector = join(build, 'index.js');
  // inspector-cli 1.0.x looks for "../package.json" relative to the working directory but
  // imports it relative to its own file, so it only starts from a directory inside its package.
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [inspector, ...args], { cwd: build, timeout: 30_000 });

  it('lists and calls the aggregated tools over Streamable HTTP', async () => {
    const listed = await run([`${proxy.url}/mcp`, '--method', 'tools/list']);
    expect(listed.stdout).toContain('weather__get_forecast');
    const called = await run([
      `${proxy.url}/mcp`,
      ...['--method', 'tools/call', '--tool-name', 'calculator__multiply', '--tool-arg', 'a=6', 'b=7'],
    ]);
    expect(called.stdout).toContain('42');
    const result = JSON.parse(called.stdout) as { content: unknown; structuredContent: unknown };
    expect(result.content).toEqual([{ type: 'text', text: '42' }]);
    expect(result.structuredContent).toEqual({ result: 42 });
  }, 60_000);
});
