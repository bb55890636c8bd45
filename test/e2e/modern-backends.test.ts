import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2HttpTransport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, startModernFixture, stopAll, waitUntil } from './support/processes.js';
import { MODERN } from './support/modern-rpc.js';

// 2025-era clients (the v1 SDK) through the proxy to a backend that speaks only 2026-07-28
// (test/fixtures/servers/modern.ts, v2 server SDK): the proxy negotiates the modern era with it,
// answers its input_required rounds by asking the calling session, and relays the list changes
// it announces on its listen stream.

describe('2025-era clients, 2026-07-28 backend', () => {
  let proxy: RunningProxy;
  const clients: V1Client[] = [];

  beforeAll(async () => {
    const url = await startModernFixture();
    const config = writeTempFile('mcp.json', { mcpServers: { modern: { url } } });
    proxy = await startHttpProxy(config);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stopAll();
  });

  const connect = async (capabilities: Record<string, unknown>): Promise<V1Client> => {
    const client = new V1Client({ name: 'v1-client', version: '1.0.0' }, { capabilities });
    clients.push(client);
    await client.connect(new V1HttpTransport(new URL(`${proxy.url}/mcp`)));
    return client;
  };

  it('reports the negotiated era in the admin API', async () => {
    const status = (await (await fetch(`${proxy.adminUrl}/mcp_servers/modern`)).json()) as {
      state: string;
      serverInfo: { name: string; protocolVersion?: string };
    };
    expect(status.state).toBe('ready');
    expect(status.serverInfo).toMatchObject({ name: 'modern', protocolVersion: '2026-07-28' });
  });

  it('answers two rounds of input_required by asking the session: elicitation and sampling, then roots', async () => {
    const asked: string[] = [];
    const client = await connect({ sampling: {}, elicitation: {}, roots: {} });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(`elicit:${request.params.message}`);
      return { action: 'accept', content: { name: 'Ada' } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.push('sample');
      return { role: 'assistant', model: 'test', content: { type: 'text', text: 'Hello there' } };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      asked.push('roots');
      return { roots: [{ uri: 'file:///work/a' }, { uri: 'file:///work/b' }] };
    });

    const result = await client.callTool({ name: 'modern__interview', arguments: {} });

    expect(result.content).toEqual([
      { type: 'text', text: 'name=Ada; greeting=Hello there; roots=file:///work/a,file:///work/b' },
    ]);
    // Round one asked two things at once (either order), round two asked for roots.
    expect(asked.slice(0, 2).sort()).toEqual(['elicit:Your name?', 'sample']);
    expect(asked[2]).toBe('roots');
    expect(asked).toHaveLength(3);
  });

  it('fails the call with an error naming what the client did not declare', async () => {
    const client = await connect({ elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'x' } }));
    const error = await client.callTool({ name: 'modern__interview', arguments: {} }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; message?: string },
    );
    expect(error, 'the call must fail').toBeDefined();
    // The backend was told this client's capabilities and refuses itself (-32021), or the proxy
    // names the capability: either way the client learns that sampling is what is missing.
    expect(error?.message).toMatch(/sampling/i);
  });

  it("relays the backend's tools/list_changed from its listen stream to a 2025-era session", async () => {
    const client = await connect({});
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed++;
    });
    const before = (await client.listTools()).tools.map((t) => t.name);
    expect(before).toContain('modern__grow');
    const grown = await client.callTool({ name: 'modern__grow', arguments: {} });
    const added = (grown.content as { text: string }[])[0]?.text;
    await waitUntil(async () => changed > 0, 10_000, 'notifications/tools/list_changed at the client');
    const after = (await client.listTools()).tools.map((t) => t.name);
    expect(after).toContain(`modern__${added}`);
    expect(before).not.toContain(`modern__${added}`);
  });
});

describe('a private list (cacheScope: private) of a 2026-07-28 backend', () => {
  let proxy: RunningProxy;
  const clients: V1Client[] = [];

  beforeAll(async () => {
    const url = await startModernFixture('--private');
    const config = writeTempFile('mcp.json', { mcpServers: { modern: { url } } });
    proxy = await startHttpProxy(config);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stopAll();
  });

  const toolsOf = async (capabilities: Record<string, unknown>): Promise<string[]> => {
    const client = new V1Client({ name: 'v1-client', version: '1.0.0' }, { capabilities });
    clients.push(client);
    await client.connect(new V1HttpTransport(new URL(`${proxy.url}/mcp`)));
    return (await client.listTools()).tools.map((t) => t.name).sort();
  };

  it('is listed for each client, never served from one client to another', async () => {
    const sampling = await toolsOf({ sampling: {} });
    const plain = await toolsOf({});
    const again = await toolsOf({ sampling: {} });
    expect(sampling).toEqual(['modern__grow', 'modern__interview', 'modern__sampler']);
    expect(plain).toEqual(['modern__grow', 'modern__interview']);
    expect(again).toEqual(sampling);
  });
});

describe('a public list with a TTL (ttlMs) of a 2026-07-28 backend', () => {
  const TTL_MS = 1500;
  let proxy: RunningProxy;
  const clients: V1Client[] = [];

  beforeAll(async () => {
    const url = await startModernFixture('--ttl', String(TTL_MS));
    const config = writeTempFile('mcp.json', { mcpServers: { modern: { url } } });
    proxy = await startHttpProxy(config);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stopAll();
  });

  it('is listed again when the TTL runs out: a change the backend never announced reaches clients', async () => {
    const client = new V1Client({ name: 'v1-client', version: '1.0.0' });
    clients.push(client);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed++;
    });
    await client.connect(new V1HttpTransport(new URL(`${proxy.url}/mcp`)));
    const grown = await client.callTool({ name: 'modern__grow', arguments: { quiet: true } });
    const added = `modern__${(grown.content as { text: string }[])[0]?.text}`;
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === added),
      TTL_MS + 15_000,
      `${added} listed after the TTL`,
    );
    // The proxy found the change itself, and told its sessions.
    await waitUntil(async () => changed > 0, 10_000, 'notifications/tools/list_changed at the client');
  });
});

describe('resource updates of a 2026-07-28 backend', () => {
  let proxy: RunningProxy;
  let session: V1Client;
  let listener: V2Client;

  beforeAll(async () => {
    const url = await startModernFixture();
    const config = writeTempFile('mcp.json', { mcpServers: { modern: { url } } });
    proxy = await startHttpProxy(config);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([session, listener].map((c) => c?.close().catch(() => {})));
    await stopAll();
  });

  it('reach a 2025-era session that subscribed and a 2026-07-28 listen stream that asked for the URI', async () => {
    const uri = 'modern://counter';
    session = new V1Client({ name: 'v1-client', version: '1.0.0' });
    const sessionHeard: string[] = [];
    session.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
      sessionHeard.push(n.params.uri);
    });
    await session.connect(new V1HttpTransport(new URL(`${proxy.url}/mcp`)));
    await session.subscribeResource({ uri });

    listener = new V2Client(
      { name: 'v2-listen', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: MODERN } } },
    );
    const streamHeard: string[] = [];
    listener.setNotificationHandler('notifications/resources/updated', (n) => {
      streamHeard.push(n.params.uri);
    });
    await listener.connect(new V2HttpTransport(new URL(`${proxy.url}/mcp`)));
    const subscription = await listener.listen({ resourceSubscriptions: [uri] });

    // Bumped until both have heard: the proxy's filter on the backend's listen stream is
    // replaced when a URI is added, and a bump in between reaches nobody.
    await waitUntil(
      async () => {
        await session.callTool({ name: 'modern__bump', arguments: {} });
        return sessionHeard.length > 0 && streamHeard.length > 0;
      },
      15_000,
      'notifications/resources/updated at the session and on the listen stream',
    );
    expect(new Set(sessionHeard)).toEqual(new Set([uri]));
    expect(new Set(streamHeard)).toEqual(new Set([uri]));
    const read = await session.readResource({ uri });
    expect(Number((read.contents[0] as { text: string }).text)).toBeGreaterThan(0);
    await subscription.close();
  });
});
