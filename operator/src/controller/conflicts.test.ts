import { describe, expect, it } from 'vitest';
import type { McpServer } from '../api/index.js';
import { McpServerSchema } from '../api/index.js';
import type { ServerResult } from './conflicts.js';
import { resolveServers } from './conflicts.js';
import { Reason } from './conditions.js';

const server = (name: string): McpServer =>
  McpServerSchema.parse({
    apiVersion: 'multi-mcp.io/v1alpha1',
    kind: 'McpServer',
    metadata: { name, namespace: 'apps' },
    spec: { url: `http://${name}.test/mcp`, prefix: 'shared' },
  });
const spec = (name: string, prefix = 'shared'): ServerResult => ({
  kind: 'spec',
  server: server(name),
  backendName: `apps_${name}`,
  spec: { url: `http://${name}.test/mcp`, prefix },
  hash: `h-${name}`,
});
const rejected = (name: string, prefix?: string): ServerResult => ({
  kind: 'rejected',
  evaluation: {
    kind: 'rejected',
    backendName: `apps_${name}`,
    ...(prefix !== undefined && { prefix }),
    reason: Reason.ReferenceNotFound,
    message: `Secret "${name}-secret" not found in namespace "apps"`,
  },
});

describe('resolveServers', () => {
  it('serves the earliest-created of two servers with the same prefix, and gives the other Conflict', () => {
    const { evaluations, served } = resolveServers([
      { key: 'apps/second', createdAt: 2_000, result: spec('second') },
      { key: 'apps/first', createdAt: 1_000, result: spec('first') },
    ]);
    expect([...served.keys()]).toEqual(['apps/first']);
    expect(evaluations.get('apps/first')).toMatchObject({
      kind: 'served',
      prefix: 'shared',
      hash: 'h-first',
    });
    expect(evaluations.get('apps/second')).toEqual({
      kind: 'conflict',
      backendName: 'apps_second',
      prefix: 'shared',
      heldBy: 'apps/first',
    });
  });

  it('keeps the prefix with an earlier server that lost Accepted, so the newer one does not take it over', () => {
    const { evaluations, served } = resolveServers([
      { key: 'apps/first', createdAt: 1_000, result: rejected('first', 'shared') },
      { key: 'apps/second', createdAt: 2_000, result: spec('second') },
    ]);
    expect(served.size).toBe(0);
    expect(evaluations.get('apps/first')).toMatchObject({ kind: 'rejected', reason: 'ReferenceNotFound' });
    expect(evaluations.get('apps/second')).toMatchObject({ kind: 'conflict', heldBy: 'apps/first' });
  });

  it('lets a rejected server without a valid prefix claim nothing, and breaks creation-time ties by key', () => {
    const { evaluations, served } = resolveServers([
      { key: 'apps/broken', createdAt: 0, result: rejected('broken') },
      { key: 'apps/b', createdAt: 5_000, result: spec('b') },
      { key: 'apps/a', createdAt: 5_000, result: spec('a') },
      { key: 'apps/own', createdAt: 0, result: spec('own', 'own') },
    ]);
    expect([...served.keys()].sort()).toEqual(['apps/a', 'apps/own']);
    expect(evaluations.get('apps/b')).toMatchObject({ kind: 'conflict', heldBy: 'apps/a' });
  });
});
