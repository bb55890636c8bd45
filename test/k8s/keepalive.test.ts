import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KeepAliveKubeConfig } from '../../operator/src/controller/kubeconfig.js';
import { k8s } from '../harness/k8s.js';
import { startRelay, throughRelay } from '../harness/relay.js';

// The operator's API calls (status writes, patches, Events) share connections; client-node's own
// KubeConfig opens a new TCP + TLS connection for every call. Counted at a relay in front of the
// real API server.
describe('KeepAliveKubeConfig', () => {
  const connectionsFor = async (make: () => KubeConfig): Promise<number> => {
    const relay = await startRelay(new URL(k8s().apiserver));
    try {
      const kc = throughRelay(k8s().kubeconfig, relay, make());
      const core = kc.makeApiClient(CoreV1Api);
      for (let i = 0; i < 5; i++) {
        const list = await core.listNamespacedConfigMap({ namespace: 'default' });
        expect(list.kind ?? 'ConfigMapList').toBe('ConfigMapList');
      }
      return relay.accepted();
    } finally {
      await relay.close();
    }
  };

  it('makes five API calls over one connection, where client-node opens five', async () => {
    expect(await connectionsFor(() => new KubeConfig())).toBe(5);
    expect(await connectionsFor(() => new KeepAliveKubeConfig())).toBe(1);
  });
});
