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
      probe: fixture('probe.ts'),
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
  await Promise.all([client, ...others].map((c) => c?.close().catch(() => {})));
  await stopAll();
});

const others: ClientV1[] = [];

interface ProbeSeen {
  calls: { id: string | number; aborted: boolean }[];
  cancelled: { requestId: unknown; reason?: unknown }[];
}

/** What the probe backend has seen so far, asked through the proxy. */
async function probeSeen(): Promise<ProbeSeen> {
  const result = await client.callTool({ name: 'probe__seen', arguments: {} });
  return result.structuredContent as unknown as ProbeSeen;
}

/**
 * A client whose sampling handler records each request and answers it only when the test says
 * so: a call that triggered sampling stays in flight for as long as the test needs.
 */
async function samplingClient(name: string) {
  const prompts: string[] = [];
  const pending: Array<() => void> = [];
  let arrived: () => void = () => {};
  let next = new Promise<void>((resolve) => (arrived = resolve));
  const sampler = new ClientV1({ name, version: '1.0.0' }, { capabilities: { sampling: {} } });
  sampler.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const content = request.params.messages[0]?.content;
    const text = content && 'text' in content ? String(content.text) : JSON.stringify(content);
    prompts.push(text);
    await new Promise<void>((resolve) => {
      pending.push(resolve);
      arrived();
    });
    return { role: 'assistant', model: name, content: { type: 'text', text: `${name} answers: ${text}` } };
  });
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`));
  await sampler.connect(transport);
  others.push(sampler);
  return {
    client: sampler,
    prompts,
    /** Resolves once a sampling request has reached this client (and is being held). */
    nextRequest: async (ms = 10_000) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no sampling request reached ${name} within ${ms} ms`)),
          ms,
        );
      });
      await Promise.race([next, late]).finally(() => clearTimeout(timer));
      next = new Promise<void>((resolve) => (arrived = resolve));
    },
    answerAll: () => pending.splice(0).forEach((answer) => answer()),
    /** Ends the session at the proxy too (DELETE), not only this side of it. */
    end: async () => {
      await transport.terminateSession();
      await sampler.close();
    },
  };
}

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

  it('refuses a stdio backend’s sampling request when two clients have calls in flight, showing it to neither', async () => {
    const first = await samplingClient('first');
    const second = await samplingClient('second');
    const sample = (who: typeof first, prompt: string) =>
      who.client.callTool(
        { name: 'everything__trigger-sampling-request', arguments: { prompt, maxTokens: 10 } },
        undefined,
        { timeout: 30_000 },
      );
    // The first call asks while it is the only one (its client gets the question) and stays in
    // flight, held in its client's sampling handler, while the second client calls the same
    // backend. Over stdio nothing says which call the second question belongs to: the proxy
    // refuses it rather than guess, and the first call still completes.
    try {
      const firstCall = sample(first, 'from first');
      await first.nextRequest();
      const secondResult = await sample(second, 'from second');
      expect(secondResult.isError).toBe(true);
      expect(JSON.stringify(secondResult.content)).toMatch(
        /cannot tell which client it is for: 2 sessions have calls in flight to \\"everything\\"/,
      );
      first.answerAll();
      const firstResult = await firstCall;

      expect(first.prompts).toEqual(['Resource trigger-sampling-request context: from first']);
      expect(second.prompts).toEqual([]);
      expect(JSON.stringify(firstResult.content)).toContain(
        'first answers: Resource trigger-sampling-request context: from first',
      );
    } finally {
      // Later tests rely on `client` being the only session (roots asked with no call in flight).
      first.answerAll();
      second.answerAll();
      await Promise.all([first.end(), second.end()]);
    }
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

  it('tells the backend which call was cancelled, and the backend’s handler sees its abort signal', async () => {
    // The SDK client rejects an aborted call locally whatever the proxy does: only the
    // backend can say whether the cancellation reached it.
    const controller = new AbortController();
    const call = client.callTool({ name: 'probe__wait', arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await waitUntil(
      async () => (await probeSeen()).calls.length === 1,
      10_000,
      'the call reaching the backend',
    );
    controller.abort('user cancelled');
    await expect(call).rejects.toThrow(/cancel|abort/i);
    await waitUntil(
      async () => (await probeSeen()).calls[0]?.aborted === true,
      10_000,
      'the backend handler’s abort signal',
    );
    const seen = await probeSeen();
    const id = seen.calls[0]?.id;
    expect(id).toBeDefined();
    expect(seen.calls).toEqual([{ id, aborted: true }]);
    expect(seen.cancelled).toEqual([{ requestId: id, reason: expect.stringContaining('user cancelled') }]);
  });
});
