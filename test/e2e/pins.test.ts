import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import { fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import {
  startHttpProxy,
  startModernFixture,
  stopAll,
  waitForOutput,
  waitUntil,
} from './support/processes.js';

// Per-tool overrides and pinned tool definitions, through the CLI as users run it: a backend written
// for the test (drifting.ts) changes its `lookup` tool at runtime and says so with list_changed.

interface ToolDefinitionStatus {
  name: string;
  exposed: string | null;
  hash: string;
  state: string;
  pin: string | null;
  pinSource: string | null;
}
interface ServerStatus {
  tools: string[];
  toolDefinitions: ToolDefinitionStatus[];
  drifted: string[];
}

const HASH = /^sha256:[0-9a-f]{64}$/;
const stateDir = mkdtempSync(join(tmpdir(), 'multi-mcp-pins-'));
const clients: Client[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
});

async function connect(proxy: RunningProxy): Promise<{ client: Client; listChanged: () => number }> {
  const client = await v1Http(proxy.url);
  clients.push(client);
  let changes = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++);
  return { client, listChanged: () => changes };
}

async function status(proxy: RunningProxy, name: string): Promise<ServerStatus> {
  const response = await fetch(`${proxy.adminUrl}/mcp_servers/${name}`);
  expect(response.status).toBe(200);
  return (await response.json()) as ServerStatus;
}

const definition = (s: ServerStatus, tool: string): ToolDefinitionStatus | undefined =>
  s.toolDefinitions.find((t) => t.name === tool);

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    const result = (await promise) as { isError?: boolean; content?: { text?: string }[] };
    return result.isError ? `tool error: ${result.content?.[0]?.text ?? ''}` : 'no error';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('first-seen pins, quarantine and approval', () => {
  let proxy: RunningProxy;
  // dict is rug-pulled during the test; spare is never touched in this process and comes back changed
  // after the restart, which only a persisted first-seen record can catch.
  const config = (spareArgs: string[]) =>
    writeTempFile('mcp.json', {
      mcpServers: {
        dict: {
          ...fixture('drifting.ts'),
          tools: { overrides: { stable: { name: 'say', description: 'Say the message back' } } },
        },
        spare: fixture('drifting.ts', ...spareArgs),
        // Two likely mistakes: a filter written against the new name, an override key that is no tool.
        typo: {
          ...fixture('drifting.ts'),
          tools: { include: ['say'], overrides: { stable: { name: 'say' }, missing: { description: 'x' } } },
        },
      },
    });
  const flags = ['--pin-policy', 'first-seen', '--state-dir', stateDir];

  beforeAll(async () => {
    proxy = await startHttpProxy(config([]), flags);
  }, 60_000);

  it('renames and redescribes an overridden tool and routes its calls to the original', async () => {
    const { client } = await connect(proxy);
    const tools = (await client.listTools()).tools;
    const say = tools.find((t) => t.name === 'dict__say');
    expect(say?.description).toBe('Say the message back');
    expect(tools.map((t) => t.name)).not.toContain('dict__stable');
    const result = await client.callTool({ name: 'dict__say', arguments: { message: 'hi there' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hi there' }]);
    expect(await errorOf(client.callTool({ name: 'dict__stable', arguments: { message: 'x' } }))).toMatch(
      /Unknown tool/,
    );
    const stable = definition(await status(proxy, 'dict'), 'stable');
    expect(stable).toMatchObject({ exposed: 'dict__say', state: 'listed', pinSource: 'first-seen' });
    expect(stable?.hash).toMatch(HASH);
    expect(stable?.pin).toBe(stable?.hash);
  });

  it('says that filters match original names, and names an override key the backend does not list', async () => {
    const { client } = await connect(proxy);
    expect((await toolNames(client)).filter((n) => n.startsWith('typo__'))).toEqual([]);
    await waitForOutput(
      proxy,
      /WARN +tool "stable" \(renamed "say" by tools.overrides\) is filtered out: tools.include\/exclude match original names backend=typo/,
      5_000,
    );
    await waitForOutput(
      proxy,
      /WARN +tools.overrides names "missing", which the backend does not list \(keys are original names\) backend=typo/,
      5_000,
    );
  });

  it('quarantines a tool whose definition changed, refuses its calls, counts and logs it', async () => {
    const { client, listChanged } = await connect(proxy);
    expect(await toolNames(client)).toContain('dict__lookup');
    const before = definition(await status(proxy, 'dict'), 'lookup');
    expect(before?.state).toBe('listed');

    await client.callTool({ name: 'dict__rug_pull', arguments: {} });
    await waitUntil(async () => listChanged() > 0, 10_000, 'tools/list_changed after the rug pull');
    await waitUntil(
      async () => !(await toolNames(client)).includes('dict__lookup'),
      10_000,
      'lookup unlisted',
    );
    expect(await toolNames(client)).toContain('dict__say');

    const refused = await errorOf(client.callTool({ name: 'dict__lookup', arguments: { word: 'x' } }));
    expect(refused).toMatch(/definition changed since it was pinned/);
    expect(refused).toContain('POST /mcp_servers/dict/pins');
    expect(refused).toContain('spec.tools.pins');

    const after = await status(proxy, 'dict');
    expect(after.drifted).toEqual(['lookup']);
    expect(definition(after, 'lookup')).toMatchObject({ state: 'drifted', pin: before?.hash });
    expect(definition(after, 'lookup')?.hash).not.toBe(before?.hash);
    expect(after.tools).not.toContain('dict__lookup');

    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metric(metrics, 'multi_mcp_tool_drifts_total{backend="dict"}')).toBe(1);
    expect(metric(metrics, 'multi_mcp_tools_withheld{backend="dict",reason="drifted"}')).toBe(1);

    const line = await waitForOutput(proxy, /WARN +tool definition changed: "lookup".*\n/, 5_000);
    expect(line[0]).toContain('backend=dict');
    // The text logger quotes the field, so the definition's own quotes come escaped.
    expect(line[0]).toMatch(/description: \\"Look a word up in the dictionary\\" -> .*id_rsa/);
    expect(line[0]).toMatch(/inputSchema: .*-> .*context/);
  });

  it('rejects an approval naming an unknown tool or a malformed hash, naming the field', async () => {
    const post = (body: unknown) =>
      fetch(`${proxy.adminUrl}/mcp_servers/dict/pins`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const unknown = await post({ approveCurrent: ['lookup', 'nope'] });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain(
      'approveCurrent[1]: backend \\"dict\\" lists no tool \\"nope\\"',
    );
    const malformed = await post({ pins: { lookup: 'sha256:1234' } });
    expect(malformed.status).toBe(400);
    const text = JSON.stringify(await malformed.json());
    expect(text).toContain('pins.lookup');
    expect(text).toContain('sha256:1234');
    expect((await post({ approve: ['lookup'] })).status).toBe(400);
    expect((await status(proxy, 'dict')).drifted).toEqual(['lookup']);
  });

  it('approval un-quarantines the tool with its new definition and tells clients', async () => {
    const { client, listChanged } = await connect(proxy);
    const response = await fetch(`${proxy.adminUrl}/mcp_servers/dict/pins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ approveCurrent: ['lookup'] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { approved: { tool: string; matchesCurrent: boolean }[] };
    expect(body.approved).toMatchObject([{ tool: 'lookup', matchesCurrent: true }]);
    await waitUntil(async () => listChanged() > 0, 10_000, 'tools/list_changed after approval');
    const lookup = (await client.listTools()).tools.find((t) => t.name === 'dict__lookup');
    expect(lookup?.description).toContain('id_rsa');
    expect(Object.keys((lookup?.inputSchema.properties as object | undefined) ?? {})).toContain('context');
    const result = await client.callTool({ name: 'dict__lookup', arguments: { word: 'x' } });
    expect(result.content).toEqual([{ type: 'text', text: 'x: changed definition' }]);
    const after = await status(proxy, 'dict');
    expect(after.drifted).toEqual([]);
    expect(definition(after, 'lookup')).toMatchObject({ state: 'listed', pinSource: 'approved' });
  });

  it('keeps first-seen records and approvals across a restart with --state-dir', async () => {
    const approved = definition(await status(proxy, 'dict'), 'lookup')?.hash;
    const spareOriginal = definition(await status(proxy, 'spare'), 'lookup')?.hash;
    await proxy.stop();
    expect(existsSync(join(stateDir, 'pins', 'spare.json'))).toBe(true);
    const record = JSON.parse(readFileSync(join(stateDir, 'pins', 'dict.json'), 'utf8')) as {
      tools: Record<string, { hash: string; source: string }>;
    };
    expect(record.tools['lookup']).toMatchObject({ hash: approved, source: 'approved' });

    // Restarted: dict serves its original lookup again (not what was approved), spare comes up changed.
    proxy = await startHttpProxy(config(['--changed']), flags);
    const { client } = await connect(proxy);
    const names = await toolNames(client);
    expect(names).not.toContain('dict__lookup');
    expect(names).not.toContain('spare__lookup');
    expect(names).toEqual(expect.arrayContaining(['dict__say', 'spare__stable']));
    const spare = definition(await status(proxy, 'spare'), 'lookup');
    expect(spare).toMatchObject({ state: 'drifted', pin: spareOriginal, pinSource: 'first-seen' });
    expect((await status(proxy, 'dict')).drifted).toEqual(['lookup']);
  }, 60_000);
});

describe('strict pins and pins in the backend definition', () => {
  let proxy: RunningProxy;
  let stableHash = '';

  beforeAll(async () => {
    // A first run with the policy off only to learn the hash a reviewer would commit.
    const probe = await startHttpProxy(
      writeTempFile('mcp.json', { mcpServers: { dict: fixture('drifting.ts') } }),
    );
    stableHash = definition(await status(probe, 'dict'), 'stable')?.hash ?? '';
    await probe.stop();
    const config = writeTempFile('mcp.json', {
      mcpServers: { dict: { ...fixture('drifting.ts'), tools: { pins: { stable: stableHash } } } },
    });
    proxy = await startHttpProxy(config, ['--pin-policy', 'strict']);
  }, 60_000);

  it('holds back every tool without a pin and serves the pinned one', async () => {
    expect(stableHash).toMatch(HASH);
    const { client } = await connect(proxy);
    expect(await toolNames(client)).toEqual(['dict__stable']);
    const refused = await errorOf(client.callTool({ name: 'dict__lookup', arguments: { word: 'x' } }));
    expect(refused).toMatch(/has no pin and the proxy runs with --pin-policy strict/);
    const s = await status(proxy, 'dict');
    expect(definition(s, 'stable')).toMatchObject({ state: 'listed', pinSource: 'spec', pin: stableHash });
    expect(definition(s, 'lookup')).toMatchObject({ state: 'held', pin: null });
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metric(metrics, 'multi_mcp_tools_withheld{backend="dict",reason="held"}')).toBe(2);
  });

  it('refuses an approval that would outrank a pin in the spec, and accepts one for an unpinned tool', async () => {
    const post = (body: unknown) =>
      fetch(`${proxy.adminUrl}/mcp_servers/dict/pins`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const owned = await post({ pins: { stable: `sha256:${'0'.repeat(64)}` } });
    expect(owned.status).toBe(409);
    expect(JSON.stringify(await owned.json())).toContain('spec.tools.pins');
    expect((await post({ approveCurrent: ['lookup'] })).status).toBe(200);
    const { client } = await connect(proxy);
    expect(await toolNames(client)).toEqual(['dict__lookup', 'dict__stable']);
  });

  it('rejects a malformed pin in a backend definition, naming the field and the value', async () => {
    const response = await fetch(`${proxy.adminUrl}/mcp_servers/other`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...fixture('drifting.ts'), tools: { pins: { lookup: 'md5:abc' } } }),
    });
    expect(response.status).toBe(400);
    const text = JSON.stringify(await response.json());
    expect(text).toContain('other.tools.pins.lookup');
    expect(text).toContain('md5:abc');
    expect(text).toContain('64 lowercase hex digits');
  });
});

describe('pins over a private tool list (cacheScope: private) of a 2026-07-28 backend', () => {
  // modern.ts --private lists `notes` only to clients that declare `fixture/notes`, never to the
  // proxy's own listing: the pins must judge each client's own list, not only the shared one.
  let firstSeen: RunningProxy;
  let strict: RunningProxy;

  beforeAll(async () => {
    const url = await startModernFixture('--private');
    const config = writeTempFile('mcp.json', { mcpServers: { modern: { url } } });
    [firstSeen, strict] = await Promise.all([
      startHttpProxy(config, ['--pin-policy', 'first-seen']),
      startHttpProxy(config, ['--pin-policy', 'strict']),
    ]);
  }, 60_000);

  const connectNotes = async (
    proxy: RunningProxy,
  ): Promise<{ client: Client; listChanged: () => number }> => {
    const client = new V1Client(
      { name: 'notes-client', version: '1.0.0' },
      { capabilities: { experimental: { 'fixture/notes': {} } } },
    );
    clients.push(client);
    await client.connect(new V1HttpTransport(new URL(`${proxy.url}/mcp`)));
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++);
    return { client, listChanged: () => changes };
  };

  it('under first-seen, pins a tool only a client’s own list shows and quarantines it when it drifts', async () => {
    const { client, listChanged } = await connectNotes(firstSeen);
    const notes = (await client.listTools()).tools.find((t) => t.name === 'modern__notes');
    expect(notes?.description).toBe('Read your notes');

    await client.callTool({ name: 'modern__pull_notes', arguments: {} });
    await waitUntil(async () => listChanged() > 0, 10_000, 'tools/list_changed after the rug pull');
    await waitUntil(
      async () => !(await toolNames(client)).includes('modern__notes'),
      10_000,
      'notes unlisted',
    );
    expect(await toolNames(client)).toContain('modern__pull_notes');

    const refused = await errorOf(client.callTool({ name: 'modern__notes', arguments: {} }));
    expect(refused).toMatch(/definition changed since it was pinned/);
    expect(refused).toContain('POST /mcp_servers/modern/pins');

    const after = await status(firstSeen, 'modern');
    expect(after.drifted).toEqual(['notes']);
    expect(definition(after, 'notes')).toMatchObject({ state: 'drifted', pinSource: 'first-seen' });
    const metrics = await (await fetch(`${firstSeen.adminUrl}/metrics`)).text();
    expect(metric(metrics, 'multi_mcp_tool_drifts_total{backend="modern"}')).toBe(1);
    expect(metric(metrics, 'multi_mcp_tools_withheld{backend="modern",reason="drifted"}')).toBe(1);
    const line = await waitForOutput(firstSeen, /WARN +tool definition changed: "notes".*\n/, 5_000);
    expect(line[0]).toContain('backend=modern');
    expect(line[0]).toMatch(/description: \\"Read your notes\\" -> .*credentials/);
  });

  it('approves the definition the client was shown, and lists and serves it again', async () => {
    const response = await fetch(`${firstSeen.adminUrl}/mcp_servers/modern/pins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ approveCurrent: ['notes'] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { approved: { tool: string; matchesCurrent: boolean }[] };
    expect(body.approved).toMatchObject([{ tool: 'notes', matchesCurrent: true }]);
    expect((await status(firstSeen, 'modern')).drifted).toEqual([]);
    const { client } = await connectNotes(firstSeen);
    const notes = (await client.listTools()).tools.find((t) => t.name === 'modern__notes');
    expect(notes?.description).toContain('credentials');
    const result = await client.callTool({ name: 'modern__notes', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'notes (changed)' }]);
  });

  it('under strict, holds back an unpinned tool of a client’s own list and refuses its calls saying why', async () => {
    const { client } = await connectNotes(strict);
    expect(await toolNames(client)).not.toContain('modern__notes');
    const refused = await errorOf(client.callTool({ name: 'modern__notes', arguments: {} }));
    expect(refused).toMatch(/has no pin and the proxy runs with --pin-policy strict/);
    expect(definition(await status(strict, 'modern'), 'notes')).toMatchObject({ state: 'held', pin: null });

    // A 2026-07-28 client, its capabilities in each request's envelope, is refused the same way.
    const modern = new ClientV2(
      { name: 'notes-modern', version: '1.0.0' },
      { capabilities: { experimental: { 'fixture/notes': {} } }, versionNegotiation: { mode: 'auto' } },
    );
    await modern.connect(new HttpV2(new URL(`${strict.url}/mcp`)));
    try {
      expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      // Nothing is pinned here: strict lists none of the backend's tools.
      expect((await modern.listTools()).tools).toEqual([]);
      expect(await errorOf(modern.callTool({ name: 'modern__notes', arguments: {} }))).toMatch(
        /has no pin and the proxy runs with --pin-policy strict/,
      );
    } finally {
      await modern.close();
    }
  });
});
