import { describe, expect, it } from 'vitest';
import type { McpServer } from '../api/index.js';
import { McpServerSchema, McpServerStatusSchema } from '../api/index.js';
import type { BackendReport } from '../proxyclient/admin.js';
import type { ReplicaState } from '../proxyclient/fleet.js';
import { replicaFacts, statusFor } from './status.js';

const server: McpServer = McpServerSchema.parse({
  apiVersion: 'multi-mcp.io/v1alpha1',
  kind: 'McpServer',
  metadata: { name: 'weather', namespace: 'apps', generation: 3 },
  spec: { command: 'node' },
});
const served = {
  kind: 'served',
  backendName: 'apps_weather',
  prefix: 'weather',
  hash: 'h1',
  disabled: false,
} as const;
const report = (state: string, tools: string[] = [], error: string | null = null): BackendReport => ({
  name: 'apps_weather',
  owner: 'operator',
  state,
  error,
  transport: 'stdio',
  serverInfo: { name: 'weather', version: '1.0.0' },
  tools,
});
const replica = (id: string, hash: string | undefined, r?: BackendReport, error?: string): ReplicaState => ({
  replica: { id, url: `http://${id}` },
  ...(hash !== undefined && { applied: { revision: 'r', hashes: { apps_weather: hash }, at: 0 } }),
  ...(r && { report: { at: 1, backends: new Map([[r.name, r]]) } }),
  ...(error !== undefined && { error }),
});
const cond = (status: ReturnType<typeof statusFor>, type: string) =>
  status.conditions?.find((c) => c.type === type);
const now = () => new Date('2026-01-01T00:00:00Z');

describe('statusFor', () => {
  it('is Ready only when every replica runs the current definition and lists its tools', () => {
    const tools = ['weather__get_forecast', 'weather__get_alerts'];
    const status = statusFor(
      server,
      served,
      [replica('a', 'h1', report('ready', tools)), replica('b', 'h1', report('ready', tools))],
      'sys/admin',
      now,
    );
    expect(status).toMatchObject({
      observedGeneration: 3,
      synced: '2/2',
      replicas: { synced: 2, total: 2 },
      toolCount: 2,
      tools,
    });
    expect(cond(status, 'Synced')).toMatchObject({
      status: 'True',
      message: '2/2 replicas',
      observedGeneration: 3,
    });
    expect(cond(status, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
  });

  it('names the replica that failed and why; an old definition is not synced', () => {
    const status = statusFor(
      server,
      served,
      [
        replica('a', 'h1', report('ready', ['weather__x'])),
        replica('b', undefined, undefined, 'ECONNREFUSED'),
        replica('c', 'h0', report('ready')),
      ],
      'sys/admin',
      now,
    );
    expect(cond(status, 'Synced')).toMatchObject({
      status: 'False',
      reason: 'PartiallySynced',
      message: '1/3 replicas; failed: b: ECONNREFUSED; c: not applied yet',
    });
    expect(cond(status, 'Ready')?.status).toBe('False');
  });

  it('reports a backend that failed on a replica with its error, and no replicas at all', () => {
    const failed = statusFor(
      server,
      served,
      [replica('a', 'h1', report('failed', [], 'spawn node ENOENT'))],
      'sys/admin',
      now,
    );
    expect(cond(failed, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'BackendFailed',
      message: 'ready on 0/1 replicas; a: spawn node ENOENT',
    });
    expect(failed.lastError).toBe('spawn node ENOENT');
    const none = statusFor(server, served, [], 'sys/admin', now);
    expect(cond(none, 'Synced')).toMatchObject({ status: 'False', reason: 'NoReplicas' });
    expect(cond(none, 'Synced')?.message).toContain('sys/admin');
  });

  it('keeps naming the last error while a failed backend reconnects, not just "connecting"', () => {
    const status = statusFor(
      server,
      served,
      [
        replica('a', 'h1', report('connecting', [], 'no answer to ping: fetch failed')),
        replica('b', 'h1', report('connecting')),
      ],
      'sys/admin',
      now,
    );
    expect(cond(status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'BackendFailed',
      message: 'ready on 0/2 replicas; a: no answer to ping: fetch failed',
    });
    expect(status.lastError).toBe('no answer to ping: fetch failed');
  });

  it('changes the replica facts a status is computed from exactly when the replicas say something new', () => {
    const tools = ['weather__get_forecast'];
    const facts = (...states: ReplicaState[]) => replicaFacts(states, 'apps_weather', 'h1');
    const ready = facts(
      replica('a', 'h1', report('ready', tools)),
      replica('b', 'h1', report('ready', tools)),
    );
    // The same account read again (a new read, new objects) is no news: no reconcile, no write.
    expect(
      facts(replica('a', 'h1', report('ready', tools)), replica('b', 'h1', report('ready', tools))),
    ).toBe(ready);
    // A backend that broke, a replica that lost the definition or could not be read, a tool list change.
    for (const changed of [
      facts(
        replica('a', 'h1', report('failed', [], 'fetch failed')),
        replica('b', 'h1', report('ready', tools)),
      ),
      facts(replica('a', 'h0', report('ready', tools)), replica('b', 'h1', report('ready', tools))),
      facts(
        replica('a', undefined, undefined, 'read: ECONNREFUSED'),
        replica('b', 'h1', report('ready', tools)),
      ),
      facts(replica('a', 'h1', report('ready', [])), replica('b', 'h1', report('ready', tools))),
    ])
      expect(changed).not.toBe(ready);
  });

  it('is Stalled (kstatus Failed) while refused or in conflict, and no longer once served', () => {
    const replicas = [replica('a', 'h1', report('failed', [], 'spawn node ENOENT'))];
    const refused = statusFor(
      server,
      {
        kind: 'rejected',
        backendName: 'apps_weather',
        reason: 'ReferenceNotFound',
        message: 'Secret "x" not found',
      },
      replicas,
      'sys/admin',
      now,
    );
    expect(cond(refused, 'Stalled')).toMatchObject({ status: 'True', message: 'Secret "x" not found' });
    const conflict = statusFor(
      server,
      { kind: 'conflict', backendName: 'apps_weather', prefix: 'weather', heldBy: 'other/weather' },
      replicas,
      'sys/admin',
      now,
    );
    expect(cond(conflict, 'Stalled')).toMatchObject({ status: 'True', reason: 'PrefixConflict' });
    // A failing backend is retried by the proxy: not stalled, and a served one drops the condition.
    const failing = statusFor({ ...server, status: refused }, served, replicas, 'sys/admin', now);
    expect(cond(failing, 'Ready')).toMatchObject({ status: 'False', reason: 'BackendFailed' });
    expect(cond(failing, 'Stalled')).toBeUndefined();
  });

  it('counts every tool but lists the first 100, so a server with 150 still gets a status the CRD accepts', () => {
    const names = Array.from({ length: 150 }, (_, i) => `weather__tool_${String(i).padStart(3, '0')}`);
    const big: BackendReport = {
      ...report('ready', names),
      toolDefinitions: names.map((exposed, i) => ({
        name: `tool_${i}`,
        exposed,
        hash: `sha256:${'1'.repeat(64)}`,
        state: 'listed',
      })),
    };
    const status = statusFor(server, served, [replica('a', 'h1', big)], 'sys/admin', now);
    expect(status.toolCount).toBe(150);
    expect(status.tools).toEqual(names.slice(0, 100));
    expect(status.toolDefinitions?.map((d) => d.exposed)).toEqual(names.slice(0, 100));
    // The API server validates status against the CRD generated from this schema (maxItems 100):
    // an uncapped list would have the whole status write refused.
    expect(McpServerStatusSchema.safeParse(status).success).toBe(true);
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = statusFor(
      server,
      served,
      [replica('a', 'h1', report('ready'))],
      's',
      () => new Date('2026-01-01T00:00:00Z'),
    );
    const again = statusFor(
      { ...server, status: first },
      served,
      [replica('a', 'h1', report('ready'))],
      's',
      () => new Date('2026-02-01T00:00:00Z'),
    );
    expect(cond(again, 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  });
});

describe('statusFor: pinned tool definitions', () => {
  const pinned = `sha256:${'1'.repeat(64)}`;
  const now1 = `sha256:${'2'.repeat(64)}`;
  const drifting = (drifted: string[]): BackendReport => ({
    ...report('ready', ['weather__get_alerts']),
    toolDefinitions: [
      { name: 'get_forecast', exposed: 'weather__get_forecast', hash: now1, state: 'drifted', pin: pinned },
      { name: 'get_alerts', exposed: 'weather__get_alerts', hash: pinned, state: 'listed', pin: pinned },
    ],
    drifted,
  });

  it('sets ToolsDrifted naming each quarantined tool, the hash it has now and where', () => {
    const status = statusFor(
      server,
      served,
      [replica('a', 'h1', drifting(['get_forecast'])), replica('b', 'h1', drifting(['get_forecast']))],
      'sys/admin',
      now,
    );
    const drifted = cond(status, 'ToolsDrifted');
    expect(drifted).toMatchObject({ status: 'True', reason: 'DefinitionChanged', observedGeneration: 3 });
    expect(drifted?.message).toContain(`get_forecast (now ${now1} on a, b)`);
    expect(drifted?.message).toContain('spec.tools.pins');
    expect(drifted?.message).not.toContain('get_alerts');
    // Quarantine hides a tool; the server itself is still connected and serving the rest.
    expect(cond(status, 'Ready')?.status).toBe('True');
    expect(status.toolDefinitions).toEqual([
      { name: 'get_forecast', exposed: 'weather__get_forecast', hash: now1, state: 'drifted' },
      { name: 'get_alerts', exposed: 'weather__get_alerts', hash: pinned, state: 'listed' },
    ]);
  });

  it('clears ToolsDrifted once no replica quarantines anything, and ignores replicas on an old definition', () => {
    const first = statusFor(server, served, [replica('a', 'h1', drifting(['get_forecast']))], 's', now);
    const approved = statusFor(
      { ...server, status: first },
      served,
      [replica('a', 'h1', drifting([]))],
      's',
      now,
    );
    expect(cond(approved, 'ToolsDrifted')).toMatchObject({ status: 'False', reason: 'PinsMatch' });
    // A replica still running the previous definition says nothing about the current one.
    const stale = statusFor(server, served, [replica('a', 'h0', drifting(['get_forecast']))], 's', now);
    expect(cond(stale, 'ToolsDrifted')).toBeUndefined();
  });

  it('drops ToolsDrifted when the server serves nothing', () => {
    const first = statusFor(server, served, [replica('a', 'h1', drifting(['get_forecast']))], 's', now);
    const conflict = statusFor(
      { ...server, status: first },
      { kind: 'conflict', backendName: 'apps_weather', prefix: 'weather', heldBy: 'other/weather' },
      [replica('a', 'h1', drifting(['get_forecast']))],
      's',
      now,
    );
    expect(cond(conflict, 'ToolsDrifted')).toBeUndefined();
  });
});
