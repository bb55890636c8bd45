import { describe, expect, it } from 'vitest';
import type { McpServer } from '../api/index.js';
import { McpServerSchema } from '../api/index.js';
import type { ReferenceLookup } from './backend.js';
import { backendNameFor, backendSpecFor, referencedEnvHash, specHash } from './backend.js';
import { CONFIG_HASH_ANNOTATION, workloadFor } from './workload.js';
import { prefixConflicts } from './conflicts.js';

const server = (name: string, spec: Record<string, unknown>, namespace = 'team-a'): McpServer =>
  McpServerSchema.parse({
    apiVersion: 'multi-mcp.io/v1alpha1',
    kind: 'McpServer',
    metadata: { name, namespace },
    spec,
  });

const refs: ReferenceLookup = {
  secret: (ns, name) => (ns === 'team-a' && name === 'weather' ? { token: 's3cret' } : undefined),
  configMap: (ns, name) => (ns === 'team-a' && name === 'settings' ? { units: 'metric' } : undefined),
};
const allowAll = { stdioAllowed: () => true, stdioHint: 'add it' };

describe('backendSpecFor', () => {
  it('passes tool overrides and pins through, and a changed pin changes the pushed definition', () => {
    const pin = `sha256:${'a'.repeat(64)}`;
    const tools = {
      overrides: { get_forecast: { name: 'forecast', description: 'Forecast' } },
      pins: { get_forecast: pin },
    };
    const result = backendSpecFor(
      server('weather', { url: 'http://weather:8080/mcp', tools }),
      refs,
      allowAll,
    );
    expect(result).toMatchObject({ ok: true, spec: { tools } });
    const repinned = backendSpecFor(
      server('weather', {
        url: 'http://weather:8080/mcp',
        tools: { ...tools, pins: { get_forecast: `sha256:${'b'.repeat(64)}` } },
      }),
      refs,
      allowAll,
    );
    if (!result.ok || !repinned.ok) throw new Error('expected both specs to be accepted');
    expect(specHash(repinned.spec)).not.toBe(specHash(result.spec));
  });

  it('refuses a malformed pin when the McpServer is read, naming the field', () => {
    const parsed = McpServerSchema.safeParse({
      apiVersion: 'multi-mcp.io/v1alpha1',
      kind: 'McpServer',
      metadata: { name: 'weather', namespace: 'team-a' },
      spec: { url: 'http://weather:8080/mcp', tools: { pins: { get_forecast: 'sha256:zz' } } },
    });
    expect(parsed.error?.issues).toMatchObject([
      { path: ['spec', 'tools', 'pins', 'get_forecast'], message: expect.stringMatching(/64 lowercase hex/) },
    ]);
  });

  it('turns a stdio McpServer into the proxy’s definition with env resolved', () => {
    const result = backendSpecFor(
      server('weather', {
        command: 'node',
        args: ['weather.js'],
        env: [
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'weather', key: 'token' } } },
          { name: 'UNITS', valueFrom: { configMapKeyRef: { name: 'settings', key: 'units' } } },
          { name: 'PLAIN', value: 'x' },
          { name: 'OPT', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } },
        ],
        timeoutSeconds: 5,
        tools: { include: ['get_*'] },
      }),
      refs,
      allowAll,
    );
    expect(result).toEqual({
      ok: true,
      spec: {
        command: 'node',
        args: ['weather.js'],
        env: { TOKEN: 's3cret', UNITS: 'metric', PLAIN: 'x' },
        prefix: 'weather',
        timeoutMs: 5000,
        tools: { include: ['get_*'] },
      },
    });
  });

  it('names a missing Secret or key', () => {
    const missing = backendSpecFor(
      server('remote', {
        url: 'https://a.test/mcp',
        headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'absent', key: 'token' } } }],
      }),
      refs,
      allowAll,
    );
    expect(missing).toMatchObject({
      ok: false,
      reason: 'ReferenceNotFound',
      message: 'spec.headers[0].valueFrom.secretKeyRef: Secret "absent" not found in namespace "team-a"',
    });
    const noKey = backendSpecFor(
      server('x', {
        command: 'node',
        env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'weather', key: 'nokey' } } }],
      }),
      refs,
      allowAll,
    );
    expect(noKey).toMatchObject({
      ok: false,
      message: expect.stringContaining('Secret "weather" has no key "nokey"'),
    });
  });

  it('names a missing Secret, ConfigMap or key that spec.deployment.env reads', () => {
    const deployed = (env: unknown[]) =>
      backendSpecFor(server('weather', { deployment: { image: 'weather:1', env } }), refs, allowAll);
    expect(deployed([{ name: 'T', valueFrom: { secretKeyRef: { name: 'absent', key: 'token' } } }])).toEqual({
      ok: false,
      reason: 'ReferenceNotFound',
      message:
        'spec.deployment.env[0].valueFrom.secretKeyRef: Secret "absent" not found in namespace "team-a"',
    });
    expect(
      deployed([
        { name: 'P', value: 'x' },
        { name: 'U', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nokey' } } },
      ]),
    ).toMatchObject({
      ok: false,
      message: 'spec.deployment.env[1].valueFrom.configMapKeyRef: ConfigMap "settings" has no key "nokey"',
    });
    expect(
      deployed([{ name: 'T', valueFrom: { secretKeyRef: { name: 'weather', key: 'token' } } }]),
    ).toMatchObject({ ok: true, spec: { url: 'http://mcp-weather.team-a.svc:8080/mcp' } });
  });

  it('puts a hash of the referenced values in the pod template, so a rotation rolls the pods', () => {
    const weather = McpServerSchema.parse({
      apiVersion: 'multi-mcp.io/v1alpha1',
      kind: 'McpServer',
      metadata: { name: 'weather', namespace: 'team-a', uid: 'u-1' },
      spec: {
        deployment: {
          image: 'weather:1',
          env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'weather', key: 'token' } } }],
        },
      },
    });
    const rotated: ReferenceLookup = { ...refs, secret: () => ({ token: 'rotated' }) };
    const annotation = (hash: string | undefined) =>
      workloadFor(weather, hash).deployment.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
    const before = annotation(referencedEnvHash(weather, refs));
    expect(before).toMatch(/^[0-9a-f]{16}$/);
    expect(annotation(referencedEnvHash(weather, rotated))).not.toBe(before);
    expect(annotation(referencedEnvHash(weather, refs))).toBe(before);
    // The value itself never appears in the Deployment.
    expect(JSON.stringify(workloadFor(weather, before).deployment)).not.toContain('s3cret');
    // Nothing referenced, nothing to annotate.
    const plain = server('plain', { deployment: { image: 'p:1', env: [{ name: 'A', value: 'b' }] } });
    expect(referencedEnvHash(plain, refs)).toBeUndefined();
  });

  it('refuses stdio outside the allowed namespaces and says how to allow it', () => {
    const result = backendSpecFor(server('calc', { command: 'node' }, 'team-b'), refs, {
      stdioAllowed: (ns) => ns === 'team-a',
      stdioHint: 'add it to --stdio-namespaces',
    });
    expect(result).toMatchObject({ ok: false, reason: 'StdioNotAllowed' });
    expect(!result.ok && result.message).toContain('namespace "team-b"; add it to --stdio-namespaces');
  });

  it('gives backend names unique across namespaces, within the proxy’s rules', () => {
    expect(backendNameFor('a-b', 'c')).not.toBe(backendNameFor('a', 'b-c'));
    expect(backendNameFor('team-a', 'weather')).toBe('team-a_weather');
    const long = backendNameFor('n'.repeat(63), 'x.y');
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(long).not.toBe(backendNameFor('n'.repeat(63), 'x.z'));
    expect(specHash({ a: 1, b: [2] })).toBe(specHash({ b: [2], a: 1 }));
  });
});

describe('prefixConflicts', () => {
  it('lets the earliest-created keep a prefix, whatever order they come in', () => {
    const claims = [
      { key: 'b/late', prefix: 'weather', createdAt: 2000 },
      { key: 'a/early', prefix: 'weather', createdAt: 1000 },
      { key: 'c/other', prefix: 'calc', createdAt: 3000 },
      { key: 'd/empty', prefix: '', createdAt: 1 },
      { key: 'e/empty', prefix: '', createdAt: 2 },
    ];
    expect(prefixConflicts(claims)).toEqual(new Map([['b/late', 'a/early']]));
    expect(prefixConflicts([...claims].reverse())).toEqual(new Map([['b/late', 'a/early']]));
  });
});
