import { KubeConfig, Watch } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { startControlPlane } from '../harness/controlplane.js';
import { k8s, kubectl, waitFor } from '../harness/k8s.js';

interface WatchStatus {
  kind?: string;
  code?: number;
  reason?: string;
}

// Its own control plane, compacting etcd every second and without the watch cache, so an
// old resourceVersion expires quickly: watches from it must end with 410 Gone (informers re-list).
describe('410 Gone after etcd compaction', () => {
  it('a watch from a compacted resourceVersion gets an ERROR event with code 410', async () => {
    const cp = await startControlPlane(k8s().controlplane, {
      extraApiserverArgs: ['--etcd-compaction-interval=1s', '--watch-cache=false'],
    });
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(cp.kubeconfig);
      const opts = { kubeconfig: cp.kubeconfig };
      const created = await kubectl(
        [
          'create',
          'configmap',
          'old',
          '-n',
          'default',
          '--from-literal=v=0',
          '-o',
          'jsonpath={.metadata.resourceVersion}',
        ],
        opts,
      );
      const oldRv = created.stdout.trim();
      for (let i = 1; i <= 3; i++) {
        await kubectl(
          ['patch', '-n', 'default', 'configmap', 'old', '--type=merge', '-p', `{"data":{"v":"${i}"}}`],
          opts,
        );
      }

      const status = await waitFor(
        'a 410 from a watch at the old resourceVersion',
        async () => {
          let gone: WatchStatus | undefined;
          let ended = false;
          const controller = await new Watch(kc).watch(
            '/api/v1/namespaces/default/configmaps',
            { resourceVersion: oldRv },
            (phase: string, obj: WatchStatus) => {
              if (phase === 'ERROR') gone = obj;
            },
            () => {
              ended = true;
            },
          );
          await waitFor('the watch to answer', () => gone ?? ended, { timeoutMs: 5_000 }).catch(
            () => undefined,
          );
          controller.abort();
          return gone?.code === 410 ? gone : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 1_000 },
      );
      expect(status).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    } finally {
      await cp.stop();
    }
  });
});
