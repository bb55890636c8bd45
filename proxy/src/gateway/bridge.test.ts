import type { Result } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { BridgeCall, BridgeContext } from './bridge.js';
import { createInputBridge } from './bridge.js';

// The continuation logic on its own; test/e2e/input-bridge.test.ts drives it with real peers.

const call = (over: Partial<BridgeCall> = {}): BridgeCall => ({
  method: 'tools/call',
  params: { name: 't', arguments: {} },
  capabilities: { elicitation: {}, roots: {} },
  requestState: undefined,
  inputResponses: undefined,
  notify: async () => {},
  scope: { principal: undefined, view: undefined },
  ...over,
});

interface InputRequired {
  resultType: string;
  inputRequests: Record<string, { method: string }>;
  requestState: string;
}

describe('input bridge', () => {
  it('sends questions asked in the same turn in one round, and resumes with their answers', async () => {
    const bridge = createInputBridge({ ttlMs: 10_000, maxOpen: 10 });
    const run = async ({ signal }: BridgeContext): Promise<Result> => {
      const caller = bridge.callerFor(signal);
      const [name, roots] = await Promise.all([
        caller?.ask('elicitation/create', { message: 'name?' }),
        caller?.ask('roots/list', {}),
      ]);
      return { content: [{ type: 'text', text: JSON.stringify([name, roots]) }] };
    };
    const first = (await bridge.serve(call(), run)) as unknown as InputRequired;
    expect(first.resultType).toBe('input_required');
    expect(Object.values(first.inputRequests).map((r) => r.method)).toEqual([
      'elicitation/create',
      'roots/list',
    ]);
    const [k1, k2] = Object.keys(first.inputRequests) as [string, string];
    const done = await bridge.serve(
      call({
        requestState: first.requestState,
        inputResponses: { [k1]: { action: 'accept' }, [k2]: { roots: [] } },
      }),
      run,
    );
    expect(done).toEqual({ content: [{ type: 'text', text: '[{"action":"accept"},{"roots":[]}]' }] });
    expect(bridge.size).toBe(0);
  });

  it('asks again for what a retry left unanswered', async () => {
    const bridge = createInputBridge({ ttlMs: 10_000, maxOpen: 10 });
    const run = async ({ signal }: BridgeContext): Promise<Result> => {
      const caller = bridge.callerFor(signal);
      await Promise.all([caller?.ask('elicitation/create', {}), caller?.ask('roots/list', {})]);
      return {};
    };
    const first = (await bridge.serve(call(), run)) as unknown as InputRequired;
    const [k1, k2] = Object.keys(first.inputRequests) as [string, string];
    const second = (await bridge.serve(
      call({ requestState: first.requestState, inputResponses: { [k1]: { action: 'decline' } } }),
      run,
    )) as unknown as InputRequired;
    expect(Object.keys(second.inputRequests)).toEqual([k2]);
    bridge.close();
  });

  it('takes a retry whose arguments come in another key order as the same call, not one with other values', async () => {
    const bridge = createInputBridge({ ttlMs: 10_000, maxOpen: 10 });
    const run = async ({ signal }: BridgeContext): Promise<Result> => {
      const answer = await bridge.callerFor(signal)?.ask('elicitation/create', {});
      return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
    };
    const params = { name: 't', arguments: { city: 'Paris', options: { units: 'metric', days: 3 } } };
    const first = (await bridge.serve(call({ params }), run)) as unknown as InputRequired;
    const [k] = Object.keys(first.inputRequests) as [string];
    const retry = (arguments_: Record<string, unknown>) =>
      bridge.serve(
        call({
          params: { arguments: arguments_, name: 't' },
          requestState: first.requestState,
          inputResponses: { [k]: { action: 'accept' } },
        }),
        run,
      );
    await expect(retry({ options: { units: 'metric', days: 4 }, city: 'Paris' })).rejects.toThrow(
      /repeat the original request/,
    );
    expect(await retry({ options: { days: 3, units: 'metric' }, city: 'Paris' })).toEqual({
      content: [{ type: 'text', text: '{"action":"accept"}' }],
    });
  });

  it('resumes only for the principal and at the virtual server that got the requestState', async () => {
    const bridge = createInputBridge({ ttlMs: 10_000, maxOpen: 10 });
    const run = async ({ signal }: BridgeContext): Promise<Result> => {
      const answer = await bridge.callerFor(signal)?.ask('elicitation/create', {});
      return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
    };
    const alice = { principal: '["https://as","alice"]', view: 'team-a' };
    const first = (await bridge.serve(call({ scope: alice }), run)) as unknown as InputRequired;
    const [k] = Object.keys(first.inputRequests) as [string];
    const retry = (scope: BridgeCall['scope'], requestState = first.requestState) =>
      bridge.serve(call({ scope, requestState, inputResponses: { [k]: { action: 'accept' } } }), run);
    const tampered = /requestState was not issued by this proxy/;
    await expect(retry({ ...alice, principal: '["https://as","bob"]' })).rejects.toThrow(tampered);
    await expect(retry({ ...alice, principal: undefined })).rejects.toThrow(tampered);
    await expect(retry({ ...alice, view: 'team-b' })).rejects.toThrow(tampered);
    await expect(retry({ ...alice, view: undefined })).rejects.toThrow(tampered);
    await expect(retry(alice, `${first.requestState}x`)).rejects.toThrow(tampered);
    // None of those touched the continuation: its owner still completes it.
    expect(bridge.size).toBe(1);
    expect(await retry(alice)).toEqual({ content: [{ type: 'text', text: '{"action":"accept"}' }] });
  });

  it('cancels the backend call of a continuation nobody resumes, and forgets it', async () => {
    const bridge = createInputBridge({ ttlMs: 50, maxOpen: 10 });
    let cancelled: () => void = () => {};
    const wasCancelled = new Promise<void>((resolve) => (cancelled = resolve));
    const run = async ({ signal }: BridgeContext): Promise<Result> => {
      signal.addEventListener('abort', () => cancelled());
      await bridge.callerFor(signal)?.ask('elicitation/create', {});
      return {};
    };
    const first = (await bridge.serve(call(), run)) as unknown as InputRequired;
    await wasCancelled; // bounded by the test timeout; the ttl is 50 ms
    expect(bridge.size).toBe(0);
    await expect(bridge.serve(call({ requestState: first.requestState }), run)).rejects.toThrow(
      /unknown here/,
    );
  });

  it('refuses a call that would wait for input beyond the cap, and does not cancel finished calls', async () => {
    const bridge = createInputBridge({ ttlMs: 10_000, maxOpen: 1 });
    const aborted: boolean[] = [];
    const asking = async ({ signal }: BridgeContext): Promise<Result> => {
      await bridge.callerFor(signal)?.ask('roots/list', {});
      return {};
    };
    const quick = async ({ signal }: BridgeContext): Promise<Result> => {
      signal.addEventListener('abort', () => aborted.push(true));
      return { content: [] };
    };
    expect(await bridge.serve(call(), quick)).toEqual({ content: [] });
    expect(((await bridge.serve(call(), asking)) as unknown as InputRequired).resultType).toBe(
      'input_required',
    );
    await expect(bridge.serve(call(), asking)).rejects.toThrow(/already waiting for client input/);
    expect(aborted).toEqual([]);
    bridge.close();
  });

  it('answers roots/list itself with no roots when the client did not declare roots', async () => {
    const bridge = createInputBridge({ ttlMs: 10_000, maxOpen: 10 });
    const run = async ({ signal }: BridgeContext): Promise<Result> =>
      (await bridge.callerFor(signal)?.ask('roots/list', {})) ?? {};
    expect(await bridge.serve(call({ capabilities: {} }), run)).toEqual({ roots: [] });
  });
});
