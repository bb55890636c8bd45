import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { repoRoot } from '../e2e/support/paths.js';
import { freshNamespace, helm, kubectl, kubectlJson } from '../harness/k8s.js';
import { canonicalRules, findManifest, parseManifests, podSpec } from '../harness/manifests.js';
import type { Manifest } from '../harness/manifests.js';

// config/ as a user checks it out: the two Secret files written as the README says, then
// kubectl kustomize and a server-side apply into the real API server of test/controlplane.
const work = mkdtempSync(join(tmpdir(), 'multi-mcp-kustomize-'));
cpSync(join(repoRoot, 'config'), join(work, 'config'), { recursive: true });

writeFileSync(join(work, 'config/default/admin-token'), 'a'.repeat(48));
writeFileSync(join(work, 'config/default/session-key'), `${Buffer.alloc(32, 7).toString('base64')}\n`);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const kustomize = async (dir: string) => parseManifests((await kubectl(['kustomize', dir])).stdout);
const spec = (o: Manifest) => (o as unknown as { spec: Record<string, unknown> }).spec;

describe('config/ kustomize bases and the default overlay', () => {
  it('renders every base and the overlay', async () => {
    const names = async (base: string) =>
      (await kustomize(join(work, 'config', base))).map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(await names('crd')).toEqual([
      'CustomResourceDefinition/mcpservers.multi-mcp.io',
      'CustomResourceDefinition/mcpvirtualservers.multi-mcp.io',
    ]);
    expect(await names('samples')).toEqual([
      'McpServer/calculator',
      'McpServer/everything',
      'McpServer/weather',
      'Secret/everything-token',
    ]);
    expect(await names('operator')).toEqual(['Deployment/multi-mcp-operator']);
    expect(await names('proxy')).toEqual([
      'ConfigMap/multi-mcp-proxy-config',
      'Deployment/multi-mcp-proxy',
      'NetworkPolicy/multi-mcp-proxy-admin',
      'PodDisruptionBudget/multi-mcp-proxy',
      'Service/multi-mcp-proxy',
      'Service/multi-mcp-proxy-admin',
      'ServiceAccount/multi-mcp-proxy',
    ]);
    const all = await kustomize(join(work, 'config/default'));
    expect(
      all
        .filter(
          (o) =>
            o.kind !== 'CustomResourceDefinition' &&
            o.kind !== 'ClusterRole' &&
            o.kind !== 'ClusterRoleBinding' &&
            o.kind !== 'Namespace',
        )
        .every((o) => o.metadata.namespace === 'multi-mcp-system'),
    ).toBe(true);
    const token = findManifest(all, 'Secret', 'multi-mcp-admin-token') as unknown as {
      data: { token: string };
    };
    expect(Buffer.from(token.data.token, 'base64').toString()).toBe('a'.repeat(48));
  });

  it('says which file is missing when the Secrets were not written', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'multi-mcp-kustomize-bare-'));
    try {
      cpSync(join(repoRoot, 'config'), join(bare, 'config'), { recursive: true });

      rmSync(join(bare, 'config/default/admin-token'), { force: true });
      const result = await kubectl(['kustomize', join(bare, 'config/default')], { allowFailure: true });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('config/default/admin-token');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('deploys what the chart deploys: the same pods, Services, RBAC rules and NetworkPolicy ports', async () => {
    const home = mkdtempSync(join(tmpdir(), 'multi-mcp-kustomize-helm-'));
    try {
      const rendered = await helm(
        ['template', 'multi-mcp', join(repoRoot, 'charts/multi-mcp'), '--namespace', 'multi-mcp-system'],
        { helmHome: home },
      );
      const chart = parseManifests(rendered.stdout);
      const kust = await kustomize(join(work, 'config/default'));
      for (const name of ['multi-mcp-proxy', 'multi-mcp-operator'])
        expect(podSpec(findManifest(kust, 'Deployment', name)), name).toEqual(
          podSpec(findManifest(chart, 'Deployment', name)),
        );
      for (const name of ['multi-mcp-proxy', 'multi-mcp-proxy-admin']) {
        const { selector: _k, ...k } = spec(findManifest(kust, 'Service', name));
        const { selector: _c, ...c } = spec(findManifest(chart, 'Service', name));
        expect(k, name).toEqual(c);
      }
      expect(canonicalRules(findManifest(kust, 'ClusterRole', 'multi-mcp-operator'))).toEqual(
        canonicalRules(findManifest(chart, 'ClusterRole', 'multi-mcp-operator-multi-mcp-system')),
      );
      const ports = (o: Manifest) => (spec(o)['ingress'] as { ports: unknown[] }[]).map((rule) => rule.ports);
      expect(ports(findManifest(kust, 'NetworkPolicy', 'multi-mcp-proxy-admin'))).toEqual(
        ports(findManifest(chart, 'NetworkPolicy', 'multi-mcp-proxy-admin')),
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('applies server-side to the real API server, then the samples into the same namespace', async () => {
    const ns = await freshNamespace('kustomize');
    // The overlay as shipped, moved to a fresh namespace; cluster-scoped names get a suffix and the
    // NodePort another number so parallel tests (the chart's) do not collide.
    const overlay = join(work, `overlay-${ns}`);
    mkdirSync(overlay);
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      stringify({
        namespace: ns,
        nameSuffix: `-${ns}`,
        resources: ['../config/default'],
        patches: [
          {
            target: { kind: 'Namespace' },
            patch: stringify({
              $patch: 'delete',
              apiVersion: 'v1',
              kind: 'Namespace',
              metadata: { name: 'x' },
            }),
          },
          {
            target: { kind: 'Service', name: 'multi-mcp-proxy' },
            patch: JSON.stringify([{ op: 'replace', path: '/spec/ports/0/nodePort', value: 30081 }]),
          },
        ],
      }),
    );
    const manifests = (await kubectl(['kustomize', overlay])).stdout;
    try {
      const applied = await kubectl(['apply', '--server-side', '--field-manager=kustomize-test', '-f', '-'], {
        input: manifests,
      });
      for (const line of [
        'customresourcedefinition.apiextensions.k8s.io/mcpservers.multi-mcp.io serverside-applied',
        `deployment.apps/multi-mcp-proxy-${ns} serverside-applied`,
        `deployment.apps/multi-mcp-operator-${ns} serverside-applied`,
        `clusterrolebinding.rbac.authorization.k8s.io/multi-mcp-operator-${ns} serverside-applied`,
        `networkpolicy.networking.k8s.io/multi-mcp-proxy-admin-${ns} serverside-applied`,
      ])
        expect(applied.stdout).toContain(line);
      const binding = await kubectlJson<{ subjects: { name: string; namespace: string }[] }>([
        'get',
        'clusterrolebinding',
        `multi-mcp-operator-${ns}`,
      ]);
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: `multi-mcp-operator-${ns}`, namespace: ns },
      ]);
      const samples = await kubectl(['apply', '--server-side', '-n', ns, '-k', join(work, 'config/samples')]);
      expect(samples.stdout).toContain('mcpserver.multi-mcp.io/calculator serverside-applied');
    } finally {
      // The CRD is shared with every other test: leave it; remove the cluster-scoped RBAC.
      await kubectl([
        'delete',
        `clusterrole/multi-mcp-operator-${ns}`,
        `clusterrolebinding/multi-mcp-operator-${ns}`,
        `service/multi-mcp-proxy-${ns}`,
        '-n',
        ns,
        '--wait=false',
        '--ignore-not-found',
      ]);
    }
  });
});
