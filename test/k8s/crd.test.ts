import { beforeEach, describe, expect, it } from 'vitest';
import { freshNamespace, kubectl, kubectlJson } from '../harness/k8s.js';

// A CRD defined here (not in crds/) to check what the real API server does with
// a structural schema, CEL rules, the status subresource and printer columns.
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.smoke.multi-mcp.io' },
  spec: {
    group: 'smoke.multi-mcp.io',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
          { name: 'URL', type: 'string', jsonPath: '.spec.url' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size', 'url'],
                properties: {
                  size: { type: 'integer', minimum: 1, maximum: 10 },
                  url: { type: 'string', maxLength: 200 },
                  minReplicas: { type: 'integer', default: 1 },
                  maxReplicas: { type: 'integer', default: 3 },
                },
                'x-kubernetes-validations': [
                  {
                    rule: 'self.minReplicas <= self.maxReplicas',
                    message: 'minReplicas must not exceed maxReplicas',
                    fieldPath: '.minReplicas',
                  },
                  {
                    rule: "self.url.startsWith('http://') || self.url.startsWith('https://')",
                    message: 'url must start with http:// or https://',
                    fieldPath: '.url',
                  },
                ],
              },
              status: {
                type: 'object',
                properties: { phase: { type: 'string', enum: ['Pending', 'Ready'] } },
              },
            },
          },
        },
      },
    ],
  },
};

interface Widget {
  metadata: { name: string; generation: number; resourceVersion: string };
  spec: { size: number; url: string; minReplicas: number; maxReplicas: number };
  status?: { phase?: string };
}

function widget(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'smoke.multi-mcp.io/v1', kind: 'Widget', metadata: { name }, spec });
}

describe('CustomResourceDefinition on the real API server', () => {
  let ns: string;

  // Installed by the first test that needs it (not in beforeAll, so that a
  // missing control plane fails each test rather than skipping them).
  let installed: Promise<unknown> | undefined;
  const installCrd = (): Promise<unknown> =>
    (installed ??= kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(crd) }).then(() =>
      kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.smoke.multi-mcp.io'], {
        timeoutMs: 40_000,
      }),
    ));
  beforeEach(() => installCrd());

  it('accepts a valid object and applies schema defaults', async () => {
    ns = await freshNamespace('crd');
    await kubectl(['create', '-n', ns, '-f', '-'], {
      input: widget('good', { size: 3, url: 'https://x.test/mcp' }),
    });
    const w = await kubectlJson<Widget>(['get', '-n', ns, 'widget', 'good']);
    expect(w.spec).toEqual({ size: 3, url: 'https://x.test/mcp', minReplicas: 1, maxReplicas: 3 });
    expect(w.metadata.generation).toBe(1);
  });

  it.each([
    ['below minimum', { size: 0, url: 'http://a' }, ['spec.size', 'should be greater than or equal to 1']],
    ['wrong type', { size: 'big', url: 'http://a' }, ['spec.size', 'must be of type integer']],
    ['missing required field', { size: 2 }, ['spec.url', 'Required value']],
    [
      'CEL rule across fields',
      { size: 2, url: 'http://a', minReplicas: 5, maxReplicas: 2 },
      ['spec.minReplicas', 'minReplicas must not exceed maxReplicas'],
    ],
    [
      'CEL rule on a value',
      { size: 2, url: 'ftp://a' },
      ['spec.url', 'url must start with http:// or https://'],
    ],
  ])('rejects an invalid object (%s) with a message naming the field', async (_title, spec, fragments) => {
    ns ??= await freshNamespace('crd');
    const result = await kubectl(['create', '-n', ns, '-f', '-'], {
      input: widget('bad', spec),
      allowFailure: true,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('is invalid');
    for (const fragment of fragments) expect(result.stderr).toContain(fragment);
  });

  it('keeps status behind the status subresource; only spec changes bump generation', async () => {
    const ns2 = await freshNamespace('crd-status');
    await kubectl(['create', '-n', ns2, '-f', '-'], { input: widget('w', { size: 1, url: 'http://a' }) });

    // A status write through the main resource is ignored.
    await kubectl(['patch', '-n', ns2, 'widget', 'w', '--type=merge', '-p', '{"status":{"phase":"Ready"}}']);
    let w = await kubectlJson<Widget>(['get', '-n', ns2, 'widget', 'w']);
    expect(w.status?.phase).toBeUndefined();

    // Through /status it is stored, without a generation bump.
    await kubectl([
      'patch',
      '-n',
      ns2,
      'widget',
      'w',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Ready"}}',
    ]);
    w = await kubectlJson<Widget>(['get', '-n', ns2, 'widget', 'w']);
    expect(w.status?.phase).toBe('Ready');
    expect(w.metadata.generation).toBe(1);

    // Status is validated too.
    const bad = await kubectl(
      [
        'patch',
        '-n',
        ns2,
        'widget',
        'w',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"phase":"Exploded"}}',
      ],
      { allowFailure: true },
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('status.phase');
    expect(bad.stderr).toContain('Unsupported value');

    // A spec change bumps generation.
    await kubectl(['patch', '-n', ns2, 'widget', 'w', '--type=merge', '-p', '{"spec":{"size":4}}']);
    w = await kubectlJson<Widget>(['get', '-n', ns2, 'widget', 'w']);
    expect(w.metadata.generation).toBe(2);

    // kubectl get shows the printer columns.
    const table = await kubectl(['get', '-n', ns2, 'widgets']);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'SIZE', 'URL', 'PHASE', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual(['w', '4', 'http://a', 'Ready']);
  });
});
