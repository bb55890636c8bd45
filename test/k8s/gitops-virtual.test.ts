import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../e2e/support/paths.js';
import { freshNamespace, kubectl, kubectlJson } from '../harness/k8s.js';
import { run } from '../harness/kubectl.js';
import type { McpVirtualServer } from '../../operator/src/api/index.js';
import type { ReplicaState } from '../../operator/src/proxyclient/fleet.js';
import { virtualStatusFor } from '../../operator/src/controller/virtual.js';

// How GitOps tools judge McpVirtualServers read back from the real API server, each with the
// status the operator's own code writes for its state: gitops/argocd/health-virtual.lua in
// gopher-lua (Argo CD's engine) and kstatus (Flux's health checks), from the Go module test/gitops.

const script = join(repoRoot, 'gitops/argocd/health-virtual.lua');
const bins = mkdtempSync(join(tmpdir(), 'multi-mcp-gitops-virtual-'));
const argocdHealth = join(bins, 'argocd-health');
const kstatus = join(bins, 'kstatus');
let items: { metadata: { name: string } }[] = [];

const replica = (id: string, hash?: string, error?: string): ReplicaState => ({
  replica: { id, url: `http://${id}` },
  ...(hash && { applied: { revision: 'r', hashes: {}, virtualHashes: { view: hash }, at: 1 } }),
  ...(error && { error }),
});

beforeAll(async () => {
  const go = (args: string[]) => promisify(execFile)('go', args, { cwd: join(repoRoot, 'test/gitops') });
  await Promise.all([go(['build', '-o', argocdHealth, '.']), go(['build', '-o', kstatus, './kstatus'])]);
  const ns = await freshNamespace('gitops-vs');
  const names = ['fresh', 'ready', 'partial', 'unserved', 'refused'];
  await kubectl(['apply', '-n', ns, '-f', '-'], {
    input: names
      .map((name) =>
        JSON.stringify({
          apiVersion: 'multi-mcp.io/v1alpha1',
          kind: 'McpVirtualServer',
          metadata: { name },
          spec: { backends: ['weather'] },
        }),
      )
      .join('\n'),
  });
  const evaluation = { name: 'view', hash: 'h', backends: [`${ns}_weather`], unserved: [] as string[] };
  const states: Record<string, [Parameters<typeof virtualStatusFor>[1], ReplicaState[]]> = {
    ready: [evaluation, [replica('a', 'h'), replica('b', 'h')]],
    partial: [evaluation, [replica('a', 'h'), replica('b', undefined, 'ECONNREFUSED')]],
    unserved: [{ ...evaluation, unserved: ['weather'] }, [replica('a', 'h')]],
    refused: [{ rejected: 'spec.scopes[0]: a scope is one token' }, [replica('a', 'h')]],
  };
  for (const [name, [evaluated, replicas]] of Object.entries(states)) {
    const vs = await kubectlJson<McpVirtualServer>(['get', 'mcpvs', name, '-n', ns]);
    const status = virtualStatusFor(vs, evaluated, replicas);
    await kubectl([
      'patch',
      'mcpvs',
      name,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
  }
  items = (await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'mcpvs', '-n', ns])).items;
}, 180_000);
afterAll(() => rmSync(bins, { recursive: true, force: true }));

interface Health {
  status: string;
  message: string;
}

const judge = async (bin: string, args: string[]): Promise<Record<string, Health>> => {
  const judged = await run(bin, args, { input: JSON.stringify(items) });
  return Object.fromEntries(
    (JSON.parse(judged.stdout) as Health[]).map((h, i) => [items[i]?.metadata.name, h]),
  );
};

describe('GitOps health of McpVirtualServer', () => {
  it('ships the same Argo CD script as a file and as the argocd-cm snippet', () => {
    const cm = parse(readFileSync(join(repoRoot, 'gitops/argocd/argocd-cm.yaml'), 'utf8')) as {
      data: Record<string, string>;
    };
    expect(cm.data['resource.customizations.health.multi-mcp.io_McpVirtualServer']).toBe(
      readFileSync(script, 'utf8'),
    );
  });

  it('is Healthy when served everywhere, Progressing while syncing, Degraded when refused or a server is missing (Argo CD)', async () => {
    expect(await judge(argocdHealth, [script])).toEqual({
      fresh: { status: 'Progressing', message: 'Waiting for the operator to observe generation 1' },
      ready: { status: 'Healthy', message: 'served at /mcp/view on 2/2 replicas' },
      partial: { status: 'Progressing', message: 'on 1/2 replicas (b: ECONNREFUSED)' },
      unserved: {
        status: 'Degraded',
        message:
          'served at /mcp/view, but these McpServers are not served, so it shows nothing of them: weather',
      },
      refused: { status: 'Degraded', message: 'spec.scopes[0]: a scope is one token' },
    });
  });

  it('is Current when Ready, InProgress otherwise, Failed when refused (kstatus, as Flux judges it)', async () => {
    const judged = await judge(kstatus, []);
    expect(Object.fromEntries(Object.entries(judged).map(([name, h]) => [name, h.status]))).toEqual({
      // No status yet: kstatus says Current until the operator's first write (as for McpServer).
      fresh: 'Current',
      ready: 'Current',
      partial: 'InProgress',
      unserved: 'InProgress',
      refused: 'Failed',
    });
  });
});
