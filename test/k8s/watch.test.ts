import { Watch } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { freshNamespace, kubeConfig, kubectl, kubectlJson, waitFor } from '../harness/k8s.js';

interface ObjectWithMeta {
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

describe('watch (@kubernetes/client-node)', () => {
  it('sees ADDED, MODIFIED and DELETED', async () => {
    const ns = await freshNamespace('watch');
    const list = await kubectlJson<ObjectWithMeta>(['get', '-n', ns, 'configmaps']);
    const events: string[] = [];
    let ended: unknown = null;

    const watch = new Watch(kubeConfig());
    const controller = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion ?? '0', allowWatchBookmarks: true },
      (phase: string, obj: ObjectWithMeta) => {
        if (phase === 'BOOKMARK') return;
        events.push(`${phase} ${obj.metadata?.name ?? '?'} ${obj.data?.['v'] ?? '-'}`);
      },
      (err: unknown) => {
        ended = err ?? 'closed';
      },
    );
    try {
      await kubectl(['create', 'configmap', 'watched', '-n', ns, '--from-literal=v=1']);
      await kubectl(['patch', '-n', ns, 'configmap', 'watched', '--type=merge', '-p', '{"data":{"v":"2"}}']);
      await kubectl(['delete', '-n', ns, 'configmap', 'watched']);
      await waitFor('three watch events', () => events.length >= 3, { timeoutMs: 10_000 });
      expect(events).toEqual(['ADDED watched 1', 'MODIFIED watched 2', 'DELETED watched 2']);
      expect(ended).toBeNull();
    } finally {
      controller.abort();
    }
  });
});
