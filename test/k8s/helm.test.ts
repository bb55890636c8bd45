import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshNamespace, helm, kubectl, kubectlJson } from '../harness/k8s.js';

// The pipeline the chart's tests will use: helm lint/template/install against the real API server.
describe('helm against the real API server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-helm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lints, renders and installs a chart; the API server accepts its objects', async () => {
    const h = (args: string[]) => helm(args, { helmHome: dir });
    const chart = join(dir, 'demo');
    await h(['create', chart]);
    const lint = await h(['lint', chart]);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');

    const ns = await freshNamespace('helm');
    const rendered = await h(['template', 'demo', chart, '--namespace', ns]);
    const dryRun = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], {
      input: rendered.stdout,
    });
    expect(dryRun.stdout).toContain('deployment.apps/demo created (server dry run)');

    await h(['install', 'demo', chart, '--namespace', ns]);
    const deploy = await kubectlJson<{ spec: { replicas: number } }>(['get', '-n', ns, 'deployment', 'demo']);
    expect(deploy.spec.replicas).toBe(1);
    const list = await h(['list', '-n', ns, '-o', 'json']);
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'demo', status: 'deployed' }]);
    await h(['uninstall', 'demo', '-n', ns, '--wait=false']);
    expect((await kubectl(['get', '-n', ns, 'deployment', 'demo'], { allowFailure: true })).code).not.toBe(0);
  });
});
