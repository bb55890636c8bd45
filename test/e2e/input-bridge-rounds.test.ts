import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliPath, fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { start, startHttpProxy, stopAll, waitForExit, waitUntil } from './support/processes.js';
import type { ModernAnswer } from './support/modern-rpc.js';
import { modernRpc } from './support/modern-rpc.js';

// The input bridge beyond one tools/call round: a 2025-era backend (the probe fixture, served
// as a 2025-era SDK serves) that asks during prompts/get and resources/read, asks a second
// question built from the first answer, and is cancelled when the client never retries.
// Raw 2026-07-28 requests, so the test sees every round the client would.

/** Short, so the expiry test waits seconds; every other round here answers within milliseconds. */
const INPUT_TIMEOUT_MS = 3000;

interface InputRequired {
  resultType: 'input_required';
  inputRequests: Record<string, { method: string; params: { message?: string } }>;
  requestState: string;
}

interface ProbeSeen {
  calls: { id: string | number; aborted: boolean }[];
  cancelled: { requestId: unknown }[];
}

describe('input_required bridge: prompts, resources, several rounds, expiry', () => {
  let proxy: RunningProxy;

  beforeAll(async () => {
    const config = writeTempFile('mcp.json', {
      mcpServers: { probe: { ...fixture('probe.ts', '--legacy'), prefix: '' } },
    });
    proxy = await startHttpProxy(config, ['--input-timeout-ms', String(INPUT_TIMEOUT_MS)]);
  }, 60_000);

  afterAll(stopAll);

  const rpc = (
    method: string,
    params: Record<string, unknown>,
    capabilities: Record<string, unknown>,
  ): Promise<ModernAnswer> => modernRpc(`${proxy.url}/mcp`, method, params, { capabilities });

  /** The input_required result of `answer`, failing with what came instead. */
  const inputRequired = (answer: ModernAnswer): InputRequired => {
    expect(answer.body.result?.resultType, JSON.stringify(answer.body)).toBe('input_required');
    return answer.body.result as unknown as InputRequired;
  };

  /** The one question of a round: its key, method and message. */
  const only = (round: InputRequired): [string, string, string | undefined] => {
    const entries = Object.entries(round.inputRequests);
    expect(entries).toHaveLength(1);
    const [key, request] = entries[0] as [string, InputRequired['inputRequests'][string]];
    return [key, request.method, request.params.message];
  };

  it('asks during prompts/get and returns the prompt built from the answer', async () => {
    const params = { name: 'topic', arguments: {} };
    const caps = { elicitation: {} };
    const round = inputRequired(await rpc('prompts/get', params, caps));
    const [key, method, message] = only(round);
    expect([method, message]).toEqual(['elicitation/create', 'Which topic?']);
    const done = await rpc(
      'prompts/get',
      {
        ...params,
        requestState: round.requestState,
        inputResponses: { [key]: { action: 'accept', content: { topic: 'tides' } } },
      },
      caps,
    );
    expect(done.body.result?.messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'Write about tides' } },
    ]);
  });

  it('asks during resources/read and returns the contents built from the answer', async () => {
    const params = { uri: 'probe://sampled' };
    const caps = { sampling: {} };
    const round = inputRequired(await rpc('resources/read', params, caps));
    const [key, method] = only(round);
    expect(method).toBe('sampling/createMessage');
    const done = await rpc(
      'resources/read',
      {
        ...params,
        requestState: round.requestState,
        inputResponses: {
          [key]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'a quiet harbour' } },
        },
      },
      caps,
    );
    expect(done.body.result?.contents).toEqual([
      { uri: 'probe://sampled', mimeType: 'text/plain', text: 'sampled: a quiet harbour' },
    ]);
  });

  it('asks the second question the backend builds from the first answer, in a new round', async () => {
    const params = { name: 'interview', arguments: {} };
    const caps = { elicitation: {} };
    const first = inputRequired(await rpc('tools/call', params, caps));
    const [k1, , m1] = only(first);
    expect(m1).toBe('Your name?');
    const second = inputRequired(
      await rpc(
        'tools/call',
        {
          ...params,
          requestState: first.requestState,
          inputResponses: { [k1]: { action: 'accept', content: { name: 'Ada' } } },
        },
        caps,
      ),
    );
    const [k2, , m2] = only(second);
    expect(m2).toBe('Where do you live, Ada?');
    expect(k2).not.toBe(k1);
    const done = await rpc(
      'tools/call',
      {
        ...params,
        requestState: second.requestState,
        inputResponses: { [k2]: { action: 'accept', content: { city: 'Lyon' } } },
      },
      caps,
    );
    expect(done.body.result?.structuredContent).toEqual({ name: 'Ada', city: 'Lyon' });
  });

  it('answers roots/list itself with no roots when the request did not declare roots', async () => {
    const params = { name: 'roots', arguments: {} };
    const undeclared = await rpc('tools/call', params, {});
    expect(undeclared.body.result?.structuredContent).toEqual({ roots: [] });

    const round = inputRequired(await rpc('tools/call', params, { roots: {} }));
    const [key, method] = only(round);
    expect(method).toBe('roots/list');
    const done = await rpc(
      'tools/call',
      {
        ...params,
        requestState: round.requestState,
        inputResponses: { [key]: { roots: [{ uri: 'file:///work/a' }] } },
      },
      { roots: {} },
    );
    expect(done.body.result?.structuredContent).toEqual({ roots: ['file:///work/a'] });
  });

  it('cancels the backend call after --input-timeout-ms without a retry, and refuses the late retry', async () => {
    const seen = async (): Promise<ProbeSeen> =>
      (await rpc('tools/call', { name: 'seen', arguments: {} }, {})).body.result
        ?.structuredContent as unknown as ProbeSeen;
    const before = new Set((await seen()).calls.map((c) => c.id));
    const params = { name: 'interview', arguments: {} };
    const caps = { elicitation: {} };
    const round = inputRequired(await rpc('tools/call', params, caps));
    const [key] = only(round);
    const asked = (await seen()).calls.filter((c) => !before.has(c.id));
    expect(asked).toHaveLength(1);
    const id = asked[0]?.id;

    await waitUntil(
      async () => (await seen()).cancelled.some((c) => c.requestId === id),
      INPUT_TIMEOUT_MS + 15_000,
      `notifications/cancelled for backend request ${String(id)}`,
    );
    expect((await seen()).calls.find((c) => c.id === id)?.aborted).toBe(true);
    const late = await rpc(
      'tools/call',
      {
        ...params,
        requestState: round.requestState,
        inputResponses: { [key]: { action: 'accept', content: { name: 'Ada' } } },
      },
      caps,
    );
    expect(late.body.error?.code).toBe(-32602);
    expect(late.body.error?.message).toMatch(/unknown here: it expired/);
  });

  it('refuses an --input-timeout-ms that is not a whole number of milliseconds in range', async () => {
    const proc = start(process.execPath, [cliPath, '--input-timeout-ms', '2m']);
    expect(await waitForExit(proc)).not.toBe(0);
    expect(proc.output()).toMatch(/--input-timeout-ms must be an integer from 100 to 3600000, got "2m"/);
  });
});
