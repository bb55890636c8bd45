import { describe, expect, it } from 'vitest';
import { freshNamespace, kubectl, kubectlJson, waitFor } from '../harness/k8s.js';

interface Meta {
  metadata: { deletionTimestamp?: string; finalizers?: string[] };
}

describe('finalizers', () => {
  it('hold a delete until the finalizer is removed', async () => {
    const ns = await freshNamespace('finalizer');
    const finalizer = 'smoke.multi-mcp.io/hold';
    await kubectl(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'held', namespace: ns, finalizers: [finalizer] },
        data: { k: 'v' },
      }),
    });

    await kubectl(['delete', '-n', ns, 'configmap', 'held', '--wait=false']);
    const held = await kubectlJson<Meta>(['get', '-n', ns, 'configmap', 'held']);
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(held.metadata.finalizers).toEqual([finalizer]);

    // Still there a moment later: nothing but the finalizer's owner may release it.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await kubectl(['get', '-n', ns, 'configmap', 'held'])).code).toBe(0);

    await kubectl([
      'patch',
      '-n',
      ns,
      'configmap',
      'held',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    await waitFor(
      'the configmap to be gone',
      async () => {
        const r = await kubectl(['get', '-n', ns, 'configmap', 'held'], { allowFailure: true });
        return r.code !== 0 && r.stderr.includes('NotFound');
      },
      { timeoutMs: 10_000 },
    );
  });
});
