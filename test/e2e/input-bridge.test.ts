import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { start, startHttpProxy, stopAll, waitForOutput } from './support/processes.js';
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
