import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import { ApiException, CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '@multi-mcp/proxy';
import { describeError } from './errors.js';

// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: the holder
// renews every retry period; a candidate takes the Lease once it has seen no renewal for a whole lease
// duration, judged on its own clock from when it last saw the Lease change (so clock skew between
// nodes does not matter). Writes carry the resourceVersion they read, so two candidates never both win.

export interface LeaderOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  /** The leader gives up (and the process exits) when it could not renew for this long. */
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
}

export interface LeaderElector {
  /** Resolves once this process leads. */
  acquire(): Promise<void>;
  /** Resolves when leadership is lost (renewals failed past the deadline, or another holder). */
  readonly lost: Promise<string>;
  isLeader(): boolean;
  /** Why the last attempt to read or take the Lease failed (undefined when it worked). */
  problem(): string | undefined;
  /** Stops renewing and hands the Lease over at once (graceful shutdown). */
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createLeaderElector(options: LeaderOptions): LeaderElector {
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const { namespace, name, identity, log } = options;
  let leading = false;
  let stopped = false;
  let observed: { key: string; at: number } | undefined;
  let lastRenew = 0;
  let problem: string | undefined;
  let markLost: (why: string) => void = () => undefined;
  const lost = new Promise<string>((resolve) => (markLost = resolve));

  const spec = (previous?: V1Lease) => {
    const now = new V1MicroTime();
    const keeps = previous?.spec?.holderIdentity === identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(options.leaseDurationMs / 1000),
      acquireTime: keeps && previous?.spec?.acquireTime ? new V1MicroTime(previous.spec.acquireTime) : now,
      renewTime: now,
      leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (keeps || !previous ? 0 : 1),
    };
  };

  /** One attempt to take or renew the Lease; true when this process holds it afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    let current: V1Lease | undefined;
    try {
      current = await api.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    }
    if (!current) {
      await api.createNamespacedLease({
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: spec(),
        },
      });
      return true;
    }
    const holder = current.spec?.holderIdentity ?? '';
    const key = `${holder}|${String(current.spec?.renewTime?.valueOf() ?? '')}`;
    if (observed?.key !== key) observed = { key, at: Date.now() };
    const expired = holder === '' || Date.now() - observed.at > options.leaseDurationMs;
    if (holder !== identity && !expired) return false;
    await api.replaceNamespacedLease({
      namespace,
      name,
      body: { ...current, spec: spec(current) },
    });
    return true;
  };

  const renewLoop = async (): Promise<void> => {
    while (leading && !stopped) {
      await sleep(options.retryPeriodMs);
      if (stopped) return;
      try {
        if (await tryAcquireOrRenew()) {
          lastRenew = Date.now();
          continue;
        }
        leading = false;
        markLost('another process holds the lease');
        return;
      } catch (error) {
        log.warn('lease renewal failed', { lease: `${namespace}/${name}`, error: describeError(error) });
        if (Date.now() - lastRenew > options.renewDeadlineMs) {
          leading = false;
          markLost(`could not renew the lease for ${options.renewDeadlineMs} ms`);
          return;
        }
      }
    }
  };

  return {
    lost,
    isLeader: () => leading,
    problem: () => problem,
    async acquire() {
      let waitingLogged = false;
      while (!stopped) {
        try {
          const acquired = await tryAcquireOrRenew();
          problem = undefined;
          if (acquired) {
            leading = true;
            lastRenew = Date.now();
            log.info('leading', { lease: `${namespace}/${name}`, identity });
            void renewLoop();
            return;
          }
          if (!waitingLogged) log.info('waiting for the lease', { lease: `${namespace}/${name}`, identity });
          waitingLogged = true;
        } catch (error) {
          problem = `cannot take the Lease ${namespace}/${name}: ${describeError(error)}`;
          log.warn('lease acquire failed', { lease: `${namespace}/${name}`, error: describeError(error) });
        }
        await sleep(options.retryPeriodMs);
      }
      throw new Error('stopped before acquiring the lease');
    },
    async release() {
      stopped = true;
      if (!leading) return;
      leading = false;
      try {
        const current = await api.readNamespacedLease({ namespace, name });
        if (current.spec?.holderIdentity !== identity) return;
        // An empty holder tells the others they need not wait out the lease duration.
        await api.replaceNamespacedLease({
          namespace,
          name,
          body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        });
        log.info('lease released', { lease: `${namespace}/${name}` });
      } catch (error) {
        log.warn('lease release failed', { error: describeError(error) });
      }
    },
  };
}
