import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { everythingBin, repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { start, startHttpProxy, stopAll, waitForOutput, waitUntil } from './support/processes.js';
import type { ModernAnswer } from './support/modern-rpc.js';
import { MODERN, modernRpc } from './support/modern-rpc.js';

// A 2026-07-28 client through the proxy to a 2025-era backend that asks its client for input
// during a call (the conformance fixture's session tools): the proxy turns each backend request
// into an input_required round and the client's retry into the backend's answer.

type RpcAnswer = ModernAnswer;

describe('input_required bridge: modern client, 2025-era backend', () => {
  let proxy: RunningProxy;

  beforeAll(async () => {
    const fixture = start(process.execPath, [
      '--import',
      'tsx',
      join(repoRoot, 'test/fixtures/servers/conformance.ts'),
      '--http',
      '0',
      '--legacy-only',
    ]);
    const [, url] = await waitForOutput(fixture, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
    const config = writeTempFile('mcp.json', { mcpServers: { fx: { url, prefix: '' } } });
    proxy = await startHttpProxy(config);
  });

  afterAll(stopAll);

  /** One raw 2026-07-28 tools/call, so the test sees every round the client would. */
  const call = (
    name: string,
    args: Record<string, unknown>,
    capabilities: Record<string, unknown>,
    retry: { requestState?: unknown; inputResponses?: unknown } = {},
  ): Promise<RpcAnswer> =>
    modernRpc(`${proxy.url}/mcp`, 'tools/call', { name, arguments: args, ...retry }, { capabilities });

  it('completes a v2 client call whose backend elicits, through the SDK’s own retry loop', async () => {
    const client = new Client(
      { name: 'modern', version: '1.0.0' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: 'auto' } },
    );
    client.setRequestHandler('elicitation/create', () => ({
      action: 'accept',
      content: { response: 'yes' },
    }));
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
    expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
    const result = await client.callTool({ name: 'test_elicitation', arguments: { message: 'ok?' } });
    expect(result.content).toEqual([
      { type: 'text', text: 'User response: action=accept, content={"response":"yes"}' },
    ]);
    await client.close();
  });

  it('asks with input_required, resumes on the retry, and rejects what was never asked or tampered', async () => {
    const first = await call('test_sampling', { prompt: 'hi' }, { sampling: {} });
    expect(first.body.result?.resultType).toBe('input_required');
    const requests = first.body.result?.inputRequests as Record<string, { method: string }>;
    const [key] = Object.keys(requests);
    expect(key && requests[key]?.method).toBe('sampling/createMessage');
    const requestState = first.body.result?.requestState as string;

    const tampered = await call(
      'test_sampling',
      { prompt: 'hi' },
      { sampling: {} },
      {
        requestState: `${requestState}x`,
        inputResponses: {},
      },
    );
    expect(tampered.body.error?.code).toBe(-32602);
    const otherArgs = await call('test_sampling', { prompt: 'other' }, { sampling: {} }, { requestState });
    expect(otherArgs.body.error?.message).toMatch(/repeat the original request/);
    const neverAsked = await call(
      'test_sampling',
      { prompt: 'hi' },
      { sampling: {} },
      {
        requestState,
        inputResponses: { nope: { role: 'assistant', content: { type: 'text', text: 'x' }, model: 'm' } },
      },
    );
    expect(neverAsked.body.error?.message).toMatch(/inputResponses\.nope/);

    const done = await call(
      'test_sampling',
      { prompt: 'hi' },
      { sampling: {} },
      {
        requestState,
        inputResponses: {
          [key as string]: { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'm' },
        },
      },
    );
    expect(done.body.result?.content).toEqual([{ type: 'text', text: 'LLM response: Paris' }]);
    // Used up: the same state cannot complete a second call.
    const again = await call(
      'test_sampling',
      { prompt: 'hi' },
      { sampling: {} },
      { requestState, inputResponses: {} },
    );
    expect(again.body.error?.message).toMatch(/unknown here/);
  });

  it('answers -32021 (HTTP 400) when the backend asks for what the request did not declare', async () => {
    const answer = await call('test_elicitation', { message: 'ok?' }, {});
    expect(answer.body.error?.code).toBe(-32021);
    expect(answer.status).toBe(400);
  });
});

// The same bridge with real peers on both sides: the v2 SDK client pinned to 2026-07-28 (no
// fallback) answering every round through its own retry loop, and server-everything, a backend
// built on the 2025-era SDK, whose sampling, elicitation and roots tools ask their client.
describe('input_required bridge: pinned v2 client, server-everything', () => {
  let proxy: RunningProxy;
  let client: Client;
  const asked: string[] = [];
  let rootsAsked: () => void = () => {};
  const rootsWereAsked = new Promise<void>((resolve) => (rootsAsked = resolve));

  beforeAll(async () => {
    const config = writeTempFile('mcp.json', {
      mcpServers: { everything: { command: process.execPath, args: [everythingBin, 'stdio'] } },
    });
    proxy = await startHttpProxy(config);
    client = new Client(
      { name: 'pinned', version: '1.0.0' },
      {
        capabilities: { sampling: {}, elicitation: {}, roots: {} },
        versionNegotiation: { mode: { pin: MODERN } },
      },
    );
    client.setRequestHandler('sampling/createMessage', (request) => {
      const first = request.params.messages[0]?.content;
      asked.push(`sampling: ${first && 'text' in first ? first.text : '?'}`);
      return { role: 'assistant', model: 'pinned-model', content: { type: 'text', text: 'Paris' } };
    });
    client.setRequestHandler('elicitation/create', (request) => {
      asked.push(`elicitation: ${request.params.message}`);
      return { action: 'accept', content: { name: 'Ada Lovelace', check: true } };
    });
    client.setRequestHandler('roots/list', () => {
      asked.push('roots');
      rootsAsked();
      return { roots: [{ uri: 'file:///work/pinned', name: 'pinned' }] };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
  }, 60_000);

  afterAll(async () => {
    await client.close().catch(() => {});
    await stopAll();
  });

  it('speaks 2026-07-28 and is shown the tools server-everything keeps for clients that can be asked', async () => {
    expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'everything__trigger-sampling-request',
        'everything__trigger-elicitation-request',
        'everything__get-roots-list',
      ]),
    );
  });

  it('answers the backend’s sampling request', async () => {
    asked.length = 0;
    const result = await client.callTool({
      name: 'everything__trigger-sampling-request',
      arguments: { prompt: 'capital of France?' },
    });
    expect(asked).toEqual(['sampling: Resource trigger-sampling-request context: capital of France?']);
    const text = JSON.stringify(result.content);
    expect(text).toContain('LLM sampling result');
    expect(text).toContain('pinned-model');
    expect(text).toContain('Paris');
  });

  it('answers the backend’s elicitation request', async () => {
    asked.length = 0;
    const result = await client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} });
    expect(asked).toEqual(['elicitation: Please provide inputs for the following fields:']);
    const text = JSON.stringify(result.content);
    expect(text).toContain('User provided the requested information');
    expect(text).toContain('- Name: Ada Lovelace');
    expect(text).toContain('- Agreed to terms: true');
  });

  it('answers the backend’s roots/list during a call, and its roots tool shows them', async () => {
    // server-everything lists roots once, right after connecting (no call in flight: the proxy
    // answers "none"), and again only on notifications/roots/list_changed, which a 2026-07-28
    // client cannot send (its SDK refuses the method in that era). So a 2025-era session sends
    // it while the pinned client has a long call in flight on that backend: the backend's
    // roots/list then belongs to that call and reaches the pinned client as a round.
    asked.length = 0;
    // Its SDK sends the notification only for a client that declared roots.listChanged.
    const announcer = new V1Client(
      { name: 'announcer', version: '1.0.0' },
      { capabilities: { roots: { listChanged: true } } },
    );
    await announcer.connect(new V1HttpTransport(new URL(`${proxy.url}/mcp`)));
    try {
      const long = client.callTool({
        name: 'everything__trigger-long-running-operation',
        arguments: { duration: 8, steps: 4 },
      });
      // Announced until the backend's roots/list reaches the pinned client: an announcement
      // that lands before the call is in flight at the proxy is answered without it.
      let answered = false;
      void rootsWereAsked.then(() => (answered = true));
      await waitUntil(
        async () => {
          if (!answered) await announcer.sendRootsListChanged();
          await Promise.race([rootsWereAsked, new Promise((resolve) => setTimeout(resolve, 500))]);
          return answered;
        },
        20_000,
        'roots/list asked of the pinned client',
      );
      const result = await long;
      expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    } finally {
      await announcer.close();
    }
    const roots = await client.callTool({ name: 'everything__get-roots-list', arguments: {} });
    expect(asked[0]).toBe('roots');
    expect(JSON.stringify(roots.content)).toContain('file:///work/pinned');
  });
});
