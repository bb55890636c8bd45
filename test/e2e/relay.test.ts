import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingBin, fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, stopAll, waitUntil } from './support/processes.js';

// What travels between a client and a backend besides plain calls: pages, progress,
// and requests the backend sends back to the client (sampling, elicitation, roots).
let proxy: RunningProxy;
let client: ClientV1;

beforeAll(async () => {
  const config = writeTempFile('mcp.json', {
    mcpServers: {
      everything: { command: process.execPath, args: [everythingBin, 'stdio'] },
      paged: fixture('paged.ts'),
    },
  });
  proxy = await startHttpProxy(config);
  client = new ClientV1(
    { name: 'relay-e2e', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: `sampled: ${JSON.stringify(request.params.messages[0]?.content)}` },
  }));
  client.setRequestHandler(ElicitRequestSchema, async (request) => ({
    action: 'accept',
    // Answer only if the backend's form arrived intact: it asks for a required "name".
    content:
      'requestedSchema' in request.params && request.params.requestedSchema.required?.includes('name')
        ? { name: 'Ada Lovelace' }
        : {},
  }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: 'file:///work/project', name: 'project' }],
  }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await stopAll();
});

describe('relaying between clients and backends', () => {
  it('follows a backend’s pages so every tool is exposed', async () => {
    const { tools } = await client.listTools();
    const paged = tools.filter((t) => t.name.startsWith('paged__')).map((t) => t.name);
    expect(paged).toHaveLength(25);
    expect(paged).toContain('paged__tool_24');
    const result = await client.callTool({ name: 'paged__tool_24', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'called tool_24' }]);
  });

  it('relays progress notifications under the client’s own token', async () => {
    const seen: number[] = [];
    const result = await client.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 4 } },
      undefined,
      { onprogress: (p) => seen.push(p.progress), timeout: 20_000 },
    );
    expect(JSON.stringify(result.content)).toContain('completed');
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('sends a backend’s sampling request to the client whose call triggered it', async () => {
    const result = await client.callTool({
      name: 'everything__trigger-sampling-request',
      arguments: { prompt: 'say hi', maxTokens: 10 },
    });
    expect(JSON.stringify(result.content)).toContain('sampled:');
    expect(JSON.stringify(result.content)).toContain('say hi');
  });

  it('sends a backend’s elicitation request to the client and returns the answer', async () => {
    const result = await client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} });
    expect(JSON.stringify(result.content)).toContain('Ada Lovelace');
  });

  it('answers a backend’s roots/list with the client’s roots, and relays roots changes', async () => {
    // server-everything may have asked for roots before this client connected (then it got the
    // proxy's defined empty answer); a roots change from the client makes it ask again.
    await client.sendRootsListChanged();
    await waitUntil(
      async () => {
        const result = await client.callTool({ name: 'everything__get-roots-list', arguments: {} });
        return JSON.stringify(result.content).includes('file:///work/project');
      },
      10_000,
      'the backend sees the client roots',
    );
  });

  it('cancels the backend call when the client aborts', async () => {
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
      undefined,
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort('user cancelled'), 300);
    await expect(call).rejects.toThrow(/cancel|abort/i);
    // The proxy stays usable for the same client right after.
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'after cancel' } });
    expect(JSON.stringify(echo.content)).toContain('after cancel');
  });
});
