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

// gitops/argocd/health.lua in the Lua engine Argo CD embeds (gopher-lua, test/gitops), on
// McpServers read back from the real API server with the status the operator would write.
const script = join(repoRoot, 'gitops/argocd/health.lua');
const bin = join(mkdtempSync(join(tmpdir(), 'multi-mcp-argocd-')), 'argocd-health');

beforeAll(async () => {
  await promisify(execFile)('go', ['build', '-o', bin, '.'], { cwd: join(repoRoot, 'test/gitops') });
}, 180_000);
afterAll(() => rmSync(join(bin, '..'), { recursive: true, force: true }));

interface Health {
  status: string;
  message: string;
}

const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-12-01T00:00:00Z',
});

describe('the Argo CD health check for McpServer', () => {
  it('ships the same script as a file and as the argocd-cm snippet', () => {
    const cm = parse(readFileSync(join(repoRoot, 'gitops/argocd/argocd-cm.yaml'), 'utf8')) as {
      data: Record<string, string>;
    };
    expect(cm.data['resource.customizations.health.multi-mcp.io_McpServer']).toBe(
      readFileSync(script, 'utf8'),
    );
  });

  it('judges real McpServers Healthy, Progressing, Degraded and Suspended as their status says', async () => {
    const ns = await freshNamespace('argocd');
    const names = ['fresh', 'ready', 'stale', 'partial', 'failed', 'disabled'];
    await kubectl(['apply', '-n', ns, '-f', '-'], {
      input: names
        .map((name) =>
          JSON.stringify({
            apiVersion: 'multi-mcp.io/v1alpha1',
            kind: 'McpServer',
            metadata: { name },
            spec: { url: `http://${name}.example:8080/mcp`, ...(name === 'disabled' && { disabled: true }) },
          }),
        )
        .join('\n'),
    });
    const setStatus = (name: string, status: Record<string, unknown>) =>
      kubectl([
        'patch',
        'mcps',
        name,
        '-n',
        ns,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      ]);
    const synced2 = condition('Synced', 'True', 'Synced', '2/2 replicas');
    await setStatus('ready', {
      observedGeneration: 1,
      conditions: [synced2, condition('Ready', 'True', 'Ready', 'connected on 2/2 replicas, 3 tools')],
    });
    await setStatus('stale', {
      observedGeneration: 1,
      conditions: [synced2, condition('Ready', 'True', 'Ready', 'connected on 2/2 replicas, 3 tools')],
    });
    // A spec change: generation 2, which the operator has not yet observed.
    await kubectl([
      'patch',
      'mcps',
      'stale',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"timeoutSeconds":5}}',
    ]);
    await setStatus('partial', {
      observedGeneration: 1,
      conditions: [
        condition('Synced', 'False', 'PartiallySynced', '1/2 replicas; failed: proxy-b: ECONNREFUSED'),
        condition('Ready', 'False', 'Connecting', 'ready on 1/2 replicas'),
      ],
    });
    await setStatus('failed', {
      observedGeneration: 1,
      conditions: [
        synced2,
        condition('Ready', 'False', 'BackendFailed', 'ready on 0/2 replicas; a: spawn node ENOENT'),
      ],
    });
    await setStatus('disabled', {
      observedGeneration: 1,
      conditions: [synced2, condition('Ready', 'False', 'Disabled', 'spec.disabled is true')],
    });

    const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'mcps', '-n', ns]);
    const judged = await run(bin, [script], { input: JSON.stringify(list.items) });
    const byName = Object.fromEntries(
      (JSON.parse(judged.stdout) as Health[]).map((h, i) => [list.items[i]?.metadata.name, h]),
    );
    expect(byName).toEqual({
      fresh: { status: 'Progressing', message: 'Waiting for the operator to observe generation 1' },
      ready: { status: 'Healthy', message: 'connected on 2/2 replicas, 3 tools' },
      stale: { status: 'Progressing', message: 'Waiting for the operator to observe generation 2' },
      partial: {
        status: 'Progressing',
        message: 'ready on 1/2 replicas; 1/2 replicas; failed: proxy-b: ECONNREFUSED',
      },
      failed: { status: 'Degraded', message: 'ready on 0/2 replicas; a: spawn node ENOENT' },
      disabled: { status: 'Suspended', message: 'spec.disabled is true' },
    });
  });
});
