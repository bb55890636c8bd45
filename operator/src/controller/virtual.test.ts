import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { McpVirtualServer } from '../api/index.js';
import { mcpVirtualServerCrd } from '../api/index.js';
import type { ReplicaState } from '../proxyclient/fleet.js';
import { virtualServerSpecFor, virtualStatusFor } from './virtual.js';

const vs = (spec: McpVirtualServer['spec']): McpVirtualServer => ({
  apiVersion: 'multi-mcp.io/v1alpha1',
  kind: 'McpVirtualServer',
  metadata: { name: 'team-a', namespace: 'tools', generation: 3 },
  spec,
});
const replica = (id: string, virtualHashes?: Record<string, string>, error?: string): ReplicaState => ({
  replica: { id, url: `http://${id}` },
  ...(virtualHashes && { applied: { revision: 'r', hashes: {}, virtualHashes, at: 1 } }),
  ...(error && { error }),
});

describe('McpVirtualServer → proxy virtual server', () => {
  it('names McpServers as the proxy knows them (same namespace, or namespace/name) and passes scopes and claims on', () => {
    const { spec } = virtualServerSpecFor(
      vs({
        backends: ['weather', 'shared/calc.v2'],
        tools: { exclude: ['*__delete_*'] },
        scopes: ['team-a:tools'],
        claims: { groups: ['a'] },
      }),
    );
    expect(spec).toEqual({
      backends: ['tools_weather', 'shared_calc_v2'],
      tools: { exclude: ['*__delete_*'] },
      scopes: ['team-a:tools'],
      claims: { groups: ['a'] },
    });
    expect(virtualServerSpecFor(vs({})).spec).toEqual({});
  });

  it('is Ready only when every replica accepted this definition and what it names is served', () => {
    const evaluation = { name: 'tools_team-a', hash: 'h1', backends: ['tools_weather'], unserved: [] };
    const ready = virtualStatusFor(vs({}), evaluation, [replica('p0', { 'tools_team-a': 'h1' })]);
    expect(ready).toMatchObject({
      observedGeneration: 3,
      endpoint: '/mcp/tools_team-a',
      sseEndpoint: '/sse/tools_team-a',
      synced: '1/1',
    });
    const condition = (type: string, s = ready) => s.conditions?.find((c) => c.type === type);
    expect(condition('Accepted')).toMatchObject({ status: 'True', observedGeneration: 3 });
    expect(condition('Ready')).toMatchObject({ status: 'True' });

    const partial = virtualStatusFor(vs({}), evaluation, [
      replica('p0', { 'tools_team-a': 'h1' }),
      replica('p1', { 'tools_team-a': 'old' }, 'connection refused'),
    ]);
    expect(condition('Ready', partial)).toMatchObject({ status: 'False', reason: 'PartiallySynced' });
    expect(partial.synced).toBe('1/2');

    const missing = virtualStatusFor(vs({}), { ...evaluation, unserved: ['weather'] }, [
      replica('p0', { 'tools_team-a': 'h1' }),
    ]);
    expect(condition('Ready', missing)).toMatchObject({ status: 'False', reason: 'BackendNotServed' });
    expect(condition('Ready', missing)?.message).toContain('weather');

    const rejected = virtualStatusFor(vs({}), { rejected: 'spec.scopes[0]: bad' }, []);
    expect(condition('Accepted', rejected)).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(condition('Stalled', rejected)).toMatchObject({ status: 'True' });
  });

  it('generates a structural CRD with short name mcpvs', () => {
    const crd = parse(JSON.stringify(mcpVirtualServerCrd())) as {
      spec: { names: { shortNames: string[] }; versions: { schema: { openAPIV3Schema: unknown } }[] };
    };
    expect(crd.spec.names.shortNames).toEqual(['mcpvs']);
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as Record<string, unknown>;
      expect(n['additionalProperties'], path).not.toBe(false);
      expect(n['anyOf'], `${path}: unions are not structural`).toBeUndefined();
      expect(n['type'], `${path} has a type`).toBeDefined();
      for (const [key, child] of Object.entries((n['properties'] as Record<string, unknown>) ?? {}))
        walk(child, `${path}.${key}`);
      if (n['items']) walk(n['items'], `${path}[]`);
      if (typeof n['additionalProperties'] === 'object') walk(n['additionalProperties'], `${path}{}`);
    };
    walk(crd.spec.versions[0]?.schema.openAPIV3Schema, '');
  });
});
