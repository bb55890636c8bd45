import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installCrds } from '../harness/global-setup.js';
import { freshNamespace, k8s, kubectl } from '../harness/k8s.js';

describe('harness', () => {
  it('installs CRD files from a folder (as it does with crds/) and waits until they are served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-crds-'));
    try {
      writeFileSync(
        join(dir, 'gadgets.yaml'),
        [
          'apiVersion: apiextensions.k8s.io/v1',
          'kind: CustomResourceDefinition',
          'metadata: {name: gadgets.smoke.multi-mcp.io}',
          'spec:',
          '  group: smoke.multi-mcp.io',
          '  scope: Namespaced',
          '  names: {plural: gadgets, singular: gadget, kind: Gadget}',
          '  versions:',
          '  - name: v1alpha1',
          '    served: true',
          '    storage: true',
          '    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}',
          '',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'README.md'), 'not a manifest');
      const { kubectl: kubectlPath, kubeconfig } = k8s();
      expect(await installCrds(kubectlPath, kubeconfig, dir)).toEqual([join(dir, 'gadgets.yaml')]);
      // Served right away: no retry needed.
      const ns = await freshNamespace('harness');
      const created = await kubectl(['create', '-n', ns, '-f', '-', '-o', 'name'], {
        input: JSON.stringify({
          apiVersion: 'smoke.multi-mcp.io/v1alpha1',
          kind: 'Gadget',
          metadata: { name: 'g' },
        }),
      });
      expect(created.stdout.trim()).toBe('gadget.smoke.multi-mcp.io/g');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each test its own namespace', async () => {
    const a = await freshNamespace('harness');
    const b = await freshNamespace('harness');
    expect(a).toMatch(/^harness-[a-z0-9]{5}$/);
    expect(b).not.toBe(a);
  });
});
