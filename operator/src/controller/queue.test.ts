import { describe, expect, it } from 'vitest';
import { backoffDelay, createWorkQueue } from './queue.js';

describe('work queue', () => {
  it('runs a key once however often it was added, and once more if added while running', async () => {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const q = createWorkQueue(
      async (key) => {
        runs.push(key);
        if (runs.length === 1) await gate;
      },
      { concurrency: 1, baseDelayMs: 1, maxDelayMs: 10 },
      () => undefined,
    );
    q.add('a');
    q.add('a'); // running: marks it dirty
    q.add('b');
    q.add('b'); // queued: de-duplicated
    await new Promise((r) => setTimeout(r, 10));
    release();
    await q.drained();
    expect(runs.sort()).toEqual(['a', 'a', 'b']);
  });

  it('retries a failing key with exponential backoff and resets after a success', async () => {
    const times: number[] = [];
    const errors: number[] = [];
    const q = createWorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length < 4) throw new Error('not yet');
      },
      { concurrency: 1, baseDelayMs: 20, maxDelayMs: 1000 },
      (_key, _error, retryIn) => errors.push(retryIn),
    );
    q.add('k');
    const deadline = Date.now() + 2000;
    while (times.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(errors).toEqual([20, 40, 80]);
    expect(q.failures('k')).toBe(0);
    expect((times[3] ?? 0) - (times[2] ?? 0)).toBeGreaterThanOrEqual(75);
    expect(backoffDelay(20, { baseDelayMs: 20, maxDelayMs: 1000 })).toBe(1000);
    await q.shutDown();
  });
});
