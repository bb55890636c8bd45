import { describe, expect, it } from 'vitest';
import { VirtualServerOwnershipError, VirtualServers } from './virtual-servers.js';

describe('VirtualServers', () => {
  it('replaces one owner’s set whole, leaves other owners’ alone, and is quiet when nothing changed', () => {
    const store = new VirtualServers();
    let changes = 0;
    store.onChange(() => changes++);
    store.upsert('api', 'mine', { backends: ['a'] });
    expect(store.sync('file', { a: {}, b: { tools: { include: ['x__*'] } } })).toEqual({
      created: ['a', 'b'],
      updated: [],
      unchanged: [],
      removed: [],
    });
    expect(changes).toBe(2);
    // Same definitions, keys in another order: no change, no notification.
    expect(store.sync('file', { b: { tools: { include: ['x__*'] } }, a: {} }).unchanged).toEqual(['b', 'a']);
    expect(changes).toBe(2);
    expect(store.sync('file', { b: {} })).toEqual({
      created: [],
      updated: ['b'],
      unchanged: [],
      removed: ['a'],
    });
    expect(store.list().map((e) => [e.name, e.owner])).toEqual([
      ['mine', 'api'],
      ['b', 'file'],
    ]);
  });

  it('refuses to let one owner change or remove another’s, before changing anything', () => {
    const store = new VirtualServers();
    store.upsert('file', 'taken', {});
    expect(() => store.sync('api', { fresh: {}, taken: {} })).toThrow(VirtualServerOwnershipError);
    expect(store.get('fresh')).toBeUndefined();
    expect(() => store.upsert('api', 'taken', { scopes: ['s'] })).toThrow(/owned by "file"/);
    expect(() => store.remove('taken', 'api')).toThrow(VirtualServerOwnershipError);
    expect(store.remove('taken')).toBe(true);
    expect(store.remove('taken')).toBe(false);
  });
});
