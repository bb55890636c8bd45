import { join } from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { start, startHttpProxy, stopAll, waitForOutput } from './support/processes.js';
import type { ModernAnswer } from './support/modern-rpc.js';
import { modernRpc } from './support/modern-rpc.js';

// Requests a 2025-era backend sends to "the client" (sampling, elicitation) while two clients
// have calls in flight to it: each question must reach the client whose call asked it, and no
// other. The asker fixture's calls ask in the order the test sets (the later call first), so a
// proxy that guesses by "most recent call" hands one client the other's question.

let proxy: RunningProxy;
const clients: ClientV1[] = [];

beforeAll(async () => {
  const fixture = start(process.execPath, [
    '--import',
    'tsx',
    join(repoRoot, 'test/fixtures/servers/asker.ts'),
    '--http',
    '0',
  ]);
  const [, url] = await waitForOutput(fixture, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
  proxy = await startHttpProxy(writeTempFile('mcp.json', { mcpServers: { asker: { url } } }));
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
});

/** A 2025-era v1 SDK session whose sampling handler records each question and answers it. */
async function samplingSession(name: string) {
  const questions: string[] = [];
  const client = new ClientV1({ name, version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const content = request.params.messages[0]?.content;
    const question = content && 'text' in content ? String(content.text) : JSON.stringify(content);
    questions.push(question);
    return { role: 'assistant', model: name, content: { type: 'text', text: `${name} saw ${question}` } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
  clients.push(client);
  const ask = async (args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> => {
    const result = await client.callTool({ name: 'asker__ask', arguments: { kind: 'sampling', ...args } });
    const [first] = result.content as { text: string }[];
    return { text: first?.text ?? '', isError: result.isError === true };
  };
  return { questions, ask };
}

const ask = (
  args: Record<string, unknown>,
  retry: { requestState?: unknown; inputResponses?: unknown } = {},
): Promise<ModernAnswer> =>
  modernRpc(
    `${proxy.url}/mcp`,
    'tools/call',
    { name: 'asker__ask', arguments: args, ...retry },
    { capabilities: { elicitation: {} } },
  );

/** The one question of an input_required result: its key and what it asks. */
function onlyQuestion(answer: ModernAnswer): { key: string; message: unknown } {
  expect(answer.body.result?.resultType).toBe('input_required');
  const requests = answer.body.result?.inputRequests as Record<
    string,
    { method: string; params: { message?: unknown } }
  >;
  const keys = Object.keys(requests);
  expect(keys).toHaveLength(1);
  const key = keys[0]!;
  expect(requests[key]?.method).toBe('elicitation/create');
  return { key, message: requests[key]?.params.message };
}

describe('backend requests reach the client whose call they came with', () => {
  it('two 2026-07-28 clients each get their own question as input_required, and each completes', async () => {
    // A starts first and asks last: B asks once A's call is at the backend, A once B has asked.
    const a = ask({ tag: 'm-A', after: 'asked:m-B' });
    const b = ask({ tag: 'm-B', after: 'started:m-A' });
    const [first, second] = await Promise.all([a, b]);
    const questionA = onlyQuestion(first);
    const questionB = onlyQuestion(second);
    expect(questionA.message).toBe('question for m-A');
    expect(questionB.message).toBe('question for m-B');

    const reply = (key: string, answer: string) => ({
      [key]: { action: 'accept', content: { answer } },
    });
    const doneB = await ask(
      { tag: 'm-B', after: 'started:m-A' },
      { requestState: second.body.result?.requestState, inputResponses: reply(questionB.key, 'bee') },
    );
    const doneA = await ask(
      { tag: 'm-A', after: 'asked:m-B' },
      { requestState: first.body.result?.requestState, inputResponses: reply(questionA.key, 'ay') },
    );
    expect(doneB.body.result?.content).toEqual([{ type: 'text', text: 'm-B got: bee' }]);
    expect(doneA.body.result?.content).toEqual([{ type: 'text', text: 'm-A got: ay' }]);
  });

  it('two 2025-era sessions each get their own sampling request, and each call completes', async () => {
    const [one, two] = await Promise.all([samplingSession('one'), samplingSession('two')]);
    const first = one.ask({ tag: 's-A', after: 'asked:s-B' });
    const second = two.ask({ tag: 's-B', after: 'started:s-A' });
    expect(await second).toEqual({ text: 's-B got: two saw question for s-B', isError: false });
    expect(await first).toEqual({ text: 's-A got: one saw question for s-A', isError: false });
    expect(one.questions).toEqual(['question for s-A']);
    expect(two.questions).toEqual(['question for s-B']);
  });

  it('refuses a request sent outside any call while two sessions call the backend, showing it to neither', async () => {
    // Sent through the backend's session (the standalone stream), the question names no call:
    // with two sessions in flight the proxy cannot know whose it is, and says so.
    const [one, two] = await Promise.all([samplingSession('three'), samplingSession('four')]);
    const [first, second] = await Promise.all([
      one.ask({ tag: 'u-A', after: 'started:u-B', unrelated: true }),
      two.ask({ tag: 'u-B', after: 'started:u-A', unrelated: true }),
    ]);
    for (const result of [first, second]) {
      expect(result.isError).toBe(true);
      expect(result.text).toMatch(
        /cannot tell which client it is for: 2 sessions have calls in flight to "asker"/,
      );
    }
    expect(one.questions).toEqual([]);
    expect(two.questions).toEqual([]);
    expect(proxy.output()).toMatch(/backend request refused/);
  });
});
