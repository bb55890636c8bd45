import { silentLogger } from '@multi-mcp/proxy';
import type { BackendSpec } from '@multi-mcp/proxy/contract';
import { describe, expect, it } from 'vitest';
import type { AdminClient, BackendReport } from './admin.js';
import { AdminError } from './admin.js';
import type { DesiredSet } from './fleet.js';
import { Fleet } from './fleet.js';
import { replicaViews } from '../controller/status.js';

/** An in-memory stand-in for proxy replicas' admin API: what each holds, and every call made. */
function replicas() {
  const held = new Map<string, Record<string, BackendSpec>>();
  const down = new Set<string>();
  /** Replicas of a proxy from before virtual servers: no /virtual_servers route. */
  const old = new Set<string>();
  const calls: string[] = [];
  let delayMs = 0;
  const client: AdminClient = {
    async sync(url, body) {
      calls.push(`PUT ${url} ${body.revision}`);
      await new Promise((r) => setTimeout(r, delayMs));
      if (down.has(url)) throw new AdminError('ECONNREFUSED');
      held.set(url, body.mcpServers);
      return {
        owner: body.owner,
        revision: body.revision,
        created: [],
        updated: [],
        unchanged: [],
        removed: [],
      };
    },
    async syncVirtualServers(url, body) {
      calls.push(`PUT ${url} virtual ${body.revision}`);
      if (down.has(url)) throw new AdminError('ECONNREFUSED');
      if (old.has(url)) throw new AdminError('HTTP 404 from PUT /virtual_servers: no route', 404);
      return {
        owner: body.owner,
        revision: body.revision,
        created: [],
        updated: [],
        unchanged: [],
        removed: [],
      };
    },
    async list(url) {
      calls.push(`GET ${url}`);
      if (down.has(url)) throw new AdminError('ECONNREFUSED');
      return Object.keys(held.get(url) ?? {}).map((name): BackendReport => ({
        name,
        owner: 'operator',
        state: 'ready',
        tools: [],
      }));
    },
  };
  return { client, held, down, old, calls, setDelay: (ms: number) => (delayMs = ms) };
}

const set = (revision: string, names: string[]): DesiredSet => ({
  revision,
  backends: Object.fromEntries(names.map((n) => [n, { url: `http://${n}.test/mcp` }])),
  hashes: Object.fromEntries(names.map((n) => [n, `h-${n}`])),
});

describe('Fleet', () => {
  it('pushes only to replicas behind the desired revision', async () => {
    const r = replicas();
    const fleet = new Fleet(r.client, 'operator', silentLogger);
    fleet.setReplicas([
      { id: 'a', url: 'http://a' },
      { id: 'b', url: 'http://b' },
    ]);
    await fleet.converge(set('r1', ['x']));
    await fleet.converge(set('r1', ['x']));
    expect(r.calls).toEqual(['PUT http://a r1', 'PUT http://b r1']);
  });

  it('coalesces sets that arrive while a push is in flight into one next push', async () => {
    const r = replicas();
    r.setDelay(30);
    const fleet = new Fleet(r.client, 'operator', silentLogger);
    fleet.setReplicas([{ id: 'a', url: 'http://a' }]);
    await Promise.all([
      fleet.converge(set('r1', ['x'])),
      fleet.converge(set('r2', ['x', 'y'])),
      fleet.converge(set('r3', ['x', 'y', 'z'])),
    ]);
    expect(r.calls).toEqual(['PUT http://a r1', 'PUT http://a r3']);
    expect(Object.keys(r.held.get('http://a') ?? {})).toEqual(['x', 'y', 'z']);
  });

  it('records why a replica failed, and gives a restarted one its set again', async () => {
    const r = replicas();
    const fleet = new Fleet(r.client, 'operator', silentLogger);
    fleet.setReplicas([
      { id: 'a', url: 'http://a' },
      { id: 'b', url: 'http://b' },
    ]);
    r.down.add('http://b');
    await fleet.converge(set('r1', ['x']));
    expect(fleet.states().map((s) => [s.replica.id, s.applied?.revision, s.error])).toEqual([
      ['a', 'r1', undefined],
      ['b', undefined, 'ECONNREFUSED'],
    ]);
    // b comes back empty (a restart): the read-back shows it lost the set, so it is pushed again.
    r.down.delete('http://b');
    await fleet.converge(set('r1', ['x']));
    expect(fleet.states()[1]?.applied?.revision).toBe('r1');
    r.held.set('http://a', {});
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect(await fleet.observe()).toBe(true);
    await fleet.converge(set('r1', ['x']));
    expect(Object.keys(r.held.get('http://a') ?? {})).toEqual(['x']);
  });

  it('pushes virtual servers after the backends, in the same revision; an old proxy is fine without any', async () => {
    const r = replicas();
    const fleet = new Fleet(r.client, 'operator', silentLogger);
    fleet.setReplicas([
      { id: 'a', url: 'http://a' },
      { id: 'old', url: 'http://old' },
    ]);
    r.old.add('http://old');
    await fleet.converge({ ...set('r1', ['x']), virtualServers: {}, virtualHashes: {} });
    expect(fleet.states().map((s) => [s.replica.id, s.applied?.revision, s.error])).toEqual([
      ['a', 'r1', undefined],
      ['old', 'r1', undefined],
    ]);
    await fleet.converge({ ...set('r2', ['x']), virtualServers: { v: {} }, virtualHashes: { v: 'h' } });
    const at = (call: string): number => r.calls.indexOf(call);
    expect(at('PUT http://a r2')).toBeGreaterThanOrEqual(0);
    expect(at('PUT http://a virtual r2')).toBeGreaterThan(at('PUT http://a r2'));
    const [a, old] = fleet.states();
    expect(a?.applied).toMatchObject({ revision: 'r2', virtualHashes: { v: 'h' } });
    // A view an old proxy cannot serve is an error the status shows, not a silent success.
    expect(old?.applied?.revision).toBe('r1');
    expect(old?.error).toContain('404');
  });

  it('keeps what a replica holds known through a resync, and forgets it only when the resync push fails', async () => {
    const r = replicas();
    const fleet = new Fleet(r.client, 'operator', silentLogger);
    fleet.setReplicas([
      { id: 'a', url: 'http://a' },
      { id: 'b', url: 'http://b' },
    ]);
    await fleet.converge(set('r1', ['x']));
    r.calls.length = 0;
    r.setDelay(30);
    fleet.requestResync();
    const resyncing = fleet.converge(set('r1', ['x']));
    // A status computed while the pushes are in flight still sees both replicas serving x.
    expect(replicaViews(fleet.states(), 'x', 'h-x').map((v) => [v.id, v.synced])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    await resyncing;
    // The resync pushed the whole set again, though the revision was the same.
    expect(r.calls).toEqual(['PUT http://a r1', 'PUT http://b r1']);
    expect(replicaViews(fleet.states(), 'x', 'h-x').every((v) => v.synced)).toBe(true);

    r.down.add('http://b');
    fleet.requestResync();
    await fleet.converge(set('r1', ['x']));
    expect(replicaViews(fleet.states(), 'x', 'h-x')).toEqual([
      expect.objectContaining({ id: 'a', synced: true }),
      { id: 'b', synced: false, problem: 'ECONNREFUSED' },
    ]);
  });
});
