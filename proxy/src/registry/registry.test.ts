import { afterEach, describe, expect, it } from 'vitest';
import type { BackendSpec } from '../config/contract.js';
import { fixtureServer } from '../http/testing.js';
import { createLogger, silentLogger } from '../log.js';
import { backoffDelay, defaultBackoff } from './backoff.js';
import { OwnershipError, Registry } from './registry.js';

// Disabled specs register without starting a process: these tests are about bookkeeping.
const spec = (arg: string): BackendSpec => ({ command: 'true', args: [arg], disabled: true });
const hooks = {
  notification: () => {},
  announced: () => {},
  createMessage: async () => ({}),
  elicit: async () => ({}),
  listRoots: async () => ({ roots: [] }),
};
const newRegistry = (drainMs?: number) =>
  new Registry({
    log: silentLogger,
    clientInfo: { name: 't', version: '0' },
    hooks,
    ...(drainMs !== undefined && { drainMs }),
  });

describe('Registry', () => {
  it('keeps the live backend when the same spec arrives again', async () => {
    const registry = newRegistry();
    expect(await registry.upsert('api', 'a', spec('1'))).toBe('created');
    const first = registry.get('a');
    expect(await registry.upsert('api', 'a', spec('1'))).toBe('unchanged');
    expect(registry.get('a')).toBe(first);
    expect(await registry.upsert('api', 'a', spec('2'))).toBe('updated');
    expect(registry.get('a')).not.toBe(first);
    await registry.close();
  });

  it('keeps registration order on update, so collision priority does not move', async () => {
    const registry = newRegistry();
    await registry.sync('file', { a: spec('1'), b: spec('1') });
    await registry.upsert('file', 'a', spec('2'));
    expect(registry.backends().map((b) => b.name)).toEqual(['a', 'b']);
    await registry.close();
  });

  it('sync replaces one owner’s backends and leaves other owners alone', async () => {
    const registry = newRegistry();
    await registry.sync('operator', { a: spec('1'), b: spec('1') });
    await registry.upsert('api', 'c', spec('1'));
    const result = await registry.sync('operator', { b: spec('1'), d: spec('1') });
    expect(result).toEqual({ created: ['d'], updated: [], unchanged: ['b'], removed: ['a'] });
    expect(
      registry
        .backends()
        .map((b) => `${b.owner}/${b.name}`)
        .sort(),
    ).toEqual(['api/c', 'operator/b', 'operator/d']);
    await registry.close();
  });

  it('refuses to let one owner change or remove another owner’s backend', async () => {
    const registry = newRegistry();
    await registry.upsert('file', 'a', spec('1'));
    await expect(registry.upsert('api', 'a', spec('2'))).rejects.toThrow(OwnershipError);
    await expect(registry.sync('api', { a: spec('1') })).rejects.toThrow(/owned by "file"/);
    await expect(registry.remove('a', 'api')).rejects.toThrow(OwnershipError);
    expect(await registry.remove('a')).toBe(true);
    expect(await registry.remove('a')).toBe(false);
    await registry.close();
  });

  it('notifies listeners once per burst of changes', async () => {
    const registry = newRegistry();
    let calls = 0;
    registry.onChange(() => calls++);
    await registry.sync('file', { a: spec('1'), b: spec('1'), c: spec('1') });
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(1);
    await registry.close();
  });
});

describe('Registry with live backends', () => {
  // Closed whatever a test did, so a failing one leaves no backend process behind.
  const registries: Registry[] = [];
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
  });
  const liveRegistry = (drainMs: number): Registry => {
    const registry = newRegistry(drainMs);
    registries.push(registry);
    return registry;
  };
  const sleep = (ms: number) => ({ name: 'sleep', arguments: { ms } });

  it('lets a removed backend finish its call in flight, and a replaced one too while its successor starts', async () => {
    const registry = liveRegistry(5_000);
    await registry.sync('file', { slow: fixtureServer('process-tree.ts', 'v1') });
    await registry.settled(20_000);
    const old = registry.get('slow');
    expect(old?.state).toBe('ready');

    const call = old?.relay('tools/call', sleep(800), {});
    const replaced = registry.sync('file', { slow: fixtureServer('process-tree.ts', 'v2') });
    // The successor is registered at once; the old one refuses new calls but finishes this one.
    expect(registry.get('slow')).not.toBe(old);
    expect(registry.inFlight()).toBe(1);
    await expect(old?.relay('tools/call', sleep(0), {})).rejects.toThrow(/slow/);
    expect(await call).toMatchObject({ content: [{ text: 'slept 800 ms' }] });
    expect(await replaced).toMatchObject({ updated: ['slow'] });

    await registry.settled(20_000);
    const current = registry.get('slow');
    const second = current?.relay('tools/call', sleep(800), {});
    const removed = registry.sync('file', {});
    expect(registry.get('slow')).toBeUndefined();
    expect(await second).toMatchObject({ content: [{ text: 'slept 800 ms' }] });
    expect(await removed).toMatchObject({ removed: ['slow'] });
    expect(current?.state).toBe('stopped');
    await registry.close();
  }, 30_000);

  it('cuts a drain short on close', async () => {
    const registry = liveRegistry(60_000);
    await registry.sync('file', { slow: fixtureServer('process-tree.ts', 'v1') });
    await registry.settled(20_000);
    const call = registry.get('slow')?.relay('tools/call', sleep(30_000), {});
    const removing = registry.remove('slow');
    const started = Date.now();
    await registry.close();
    await expect(call).rejects.toThrow();
    await removing;
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, jittered within the upper half', () => {
    const policy = { initialMs: 500, maxMs: 30_000 };
    expect(backoffDelay(policy, 0, () => 0)).toBe(250);
    expect(backoffDelay(policy, 0, () => 1)).toBe(500);
    expect(backoffDelay(policy, 3, () => 1)).toBe(4000);
    expect(backoffDelay(policy, 20, () => 1)).toBe(30_000);
  });
});

describe('default backoff', () => {
  it('is the README’s: 0.5 s doubling to 30 s', () => {
    expect(defaultBackoff).toEqual({ initialMs: 500, maxMs: 30_000 });
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 40].map((attempt) =>
      backoffDelay(defaultBackoff, attempt, () => 1),
    );
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(backoffDelay(defaultBackoff, 0, () => 0)).toBe(250);
    expect(backoffDelay(defaultBackoff, 40, () => 0)).toBe(15_000);
  });

  it('is what a registry built without a policy retries a failing backend with', async () => {
    const lines: string[] = [];
    const registry = new Registry({
      log: createLogger('warn', (line) => lines.push(line)),
      clientInfo: { name: 't', version: '0' },
      hooks,
    });
    try {
      const root = new URL('../../../', import.meta.url).pathname;
      await registry.upsert('api', 'broken', {
        command: process.execPath,
        args: ['--import', 'tsx', 'test/fixtures/servers/crash-at-start.ts'],
        cwd: root,
      });
      // Two failures: the first retry waits within (250, 500] ms, the second within (500, 1000].
      const retries = (): number[] =>
        lines
          .filter((line) => line.includes('backend failed, retrying'))
          .map((line) => Number(/retryInMs=(\d+)/.exec(line)?.[1]));
      const deadline = Date.now() + 20_000;
      while (retries().length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const [first, second] = retries();
      expect(first).toBeGreaterThanOrEqual(250);
      expect(first).toBeLessThanOrEqual(500);
      expect(second).toBeGreaterThanOrEqual(500);
      expect(second).toBeLessThanOrEqual(1000);
      expect(registry.get('broken')?.restarts).toBeGreaterThanOrEqual(1);
    } finally {
      await registry.close();
    }
  }, 30_000);
});
