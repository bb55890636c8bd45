import type { V1ConfigMap } from '@kubernetes/client-node';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { createLogger } from '@multi-mcp/proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Informer } from '../../operator/src/controller/informers.js';
import { createInformer } from '../../operator/src/controller/informers.js';
import type { ControlPlane } from '../harness/controlplane.js';
import { startControlPlane } from '../harness/controlplane.js';
import { k8s, kubectl, waitFor } from '../harness/k8s.js';
import { startRelay, throughRelay } from '../harness/relay.js';

interface Seen {
  events: string[];
  lists: number;
  log: string[];
}

function configMapInformer(
  kc: KubeConfig,
  namespace: string,
  restartDelayMs: number,
  watchTimeoutSeconds?: number,
) {
  const core = kc.makeApiClient(CoreV1Api);
  const seen: Seen = { events: [], lists: 0, log: [] };
  const informer: Informer<V1ConfigMap> = createInformer<V1ConfigMap>({
    kubeConfig: kc,
    paths: [
      {
        path: `/api/v1/namespaces/${namespace}/configmaps`,
        list: () => {
          seen.lists++;
          return core.listNamespacedConfigMap({ namespace });
        },
      },
    ],
    what: 'configmaps',
    log: createLogger('warn', (line) => seen.log.push(line)),
    restartDelayMs,
    ...(watchTimeoutSeconds !== undefined && { watchTimeoutSeconds }),
    onChange: (kind, obj) => seen.events.push(`${kind} ${obj.metadata?.name ?? '?'}`),
  });
  return { informer, seen };
}

const createConfigMap = (name: string, namespace: string, kubeconfig: string) =>
  kubectl(['create', 'configmap', name, '-n', namespace, '--from-literal=v=1'], { kubeconfig });

describe('informers (operator/src/controller/informers.ts) on a real API server', () => {
  // Its own control plane, compacting etcd every second and without the watch cache, so an old
  // resourceVersion expires quickly (as in gone.test.ts) and a watch resumed from it gets 410 Gone.
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane(k8s().controlplane, {
      extraApiserverArgs: ['--etcd-compaction-interval=1s', '--watch-cache=false'],
    });
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('restarts a watch whose connection broke, with a growing delay while it keeps failing', async () => {
    const ns = 'default';
    const relay = await startRelay(new URL(cp.apiserver));
    const { informer, seen } = configMapInformer(throughRelay(cp.kubeconfig, relay), ns, 100);
    try {
      await informer.start();
      await createConfigMap('before-cut', ns, cp.kubeconfig);
      await waitFor('the informer to see before-cut', () => seen.events.includes('add before-cut'));

      // The watch's connection is reset: the informer must notice and watch again.
      relay.cut();
      await waitFor('a restart logged', () => seen.log.some((l) => l.includes('watch failed; restarting')));
      await createConfigMap('after-cut', ns, cp.kubeconfig);
      await waitFor('the informer to see after-cut', () => seen.events.includes('add after-cut'), {
        timeoutMs: 15_000,
      });

      // Every new connection is reset for a while: each restart fails and waits longer than the last.
      const before = seen.log.length;
      relay.refuse();
      await new Promise((r) => setTimeout(r, 2_500));
      const delays = seen.log
        .slice(before)
        .filter((l) => l.includes('watch failed; restarting'))
        .map((l) => Number(/retryInMs=(\d+)/.exec(l)?.[1]));
      expect(delays.length).toBeGreaterThanOrEqual(3);
      expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800].slice(0, Math.min(4, delays.length)));

      relay.accept();
      await createConfigMap('after-refusal', ns, cp.kubeconfig);
      await waitFor('the informer to see after-refusal', () => seen.events.includes('add after-refusal'), {
        timeoutMs: 15_000,
      });
      expect(informer.get('after-refusal', ns)?.metadata?.name).toBe('after-refusal');
    } finally {
      await informer.stop();
      await relay.close();
    }
  });

  it('re-lists after 410 Gone: what changed while it was cut off reaches the cache and the handlers', async () => {
    const ns = 'kube-public';
    const relay = await startRelay(new URL(cp.apiserver));
    const kc = throughRelay(cp.kubeconfig, relay);
    const { informer, seen } = configMapInformer(kc, ns, 200);
    try {
      await createConfigMap('doomed', ns, cp.kubeconfig);
      await informer.start();
      expect(seen.lists).toBe(1);
      await waitFor('the informer to see doomed', () => seen.events.includes('add doomed'));
      const resumeFrom = informer.get('doomed', ns)?.metadata?.resourceVersion ?? '';
      expect(resumeFrom).not.toBe('');

      // Cut off; meanwhile one object goes, one comes, and etcd compacts past where the watch was.
      relay.refuse();
      await kubectl(['delete', 'configmap', 'doomed', '-n', ns], { kubeconfig: cp.kubeconfig });
      await createConfigMap('born', ns, cp.kubeconfig);
      for (let i = 0; i < 3; i++) {
        await kubectl(
          ['patch', 'configmap', 'born', '-n', ns, '--type=merge', '-p', `{"data":{"v":"${i}"}}`],
          {
            kubeconfig: cp.kubeconfig,
          },
        );
      }
      // The precondition, checked directly against the API server: resuming there now means 410.
      const direct = new KubeConfig();
      direct.loadFromFile(cp.kubeconfig);
      await waitFor(
        'a watch from the informer’s resourceVersion to get 410 Gone',
        async () => {
          let code: number | undefined;
          let ended = false;
          const controller = await new Watch(direct).watch(
            `/api/v1/namespaces/${ns}/configmaps`,
            { resourceVersion: resumeFrom },
            (phase: string, obj: { code?: number }) => {
              if (phase === 'ERROR') code = obj.code;
            },
            () => (ended = true),
          );
          await waitFor('an answer', () => code !== undefined || ended, { timeoutMs: 5_000 }).catch(
            () => undefined,
          );
          controller.abort();
          return code === 410;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(seen.events).not.toContain('delete doomed');

      relay.accept();
      await waitFor(
        'the deletion and the creation to reach the handlers',
        () => seen.events.includes('delete doomed') && seen.events.includes('add born'),
        { timeoutMs: 30_000 },
      );
      // Only a new list can tell about a deletion the watch can no longer replay.
      expect(seen.lists).toBeGreaterThanOrEqual(2);
      expect(informer.get('doomed', ns)).toBeUndefined();
      expect(informer.get('born', ns)?.data?.['v']).toBe('2');
    } finally {
      await informer.stop();
      await relay.close();
    }
  });

  it('gives up a watch that went silent without an error, and watches again', async () => {
    const ns = 'kube-node-lease';
    const relay = await startRelay(new URL(cp.apiserver));
    // The API server ends each watch after 2 s; one still open 2 s later than that is stalled.
    const { informer, seen } = configMapInformer(throughRelay(cp.kubeconfig, relay), ns, 100, 2);
    try {
      await informer.start();
      await createConfigMap('before-stall', ns, cp.kubeconfig);
      await waitFor('the informer to see before-stall', () => seen.events.includes('add before-stall'));

      relay.stall();
      const stalledAt = Date.now();
      await createConfigMap('after-stall', ns, cp.kubeconfig);
      await waitFor('the informer to see after-stall', () => seen.events.includes('add after-stall'), {
        timeoutMs: 20_000,
      });
      const restart = seen.log.find((l) => l.includes('watch stalled'));
      expect(restart).toContain('watch failed; restarting');
      // Nothing came through the silent connection: the change arrived once the watchdog gave it up.
      expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(2_000);
    } finally {
      await informer.stop();
      await relay.close();
    }
  });
});
