import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { Logger } from '@multi-mcp/proxy';
import { describeError } from './errors.js';

/** A cache of one kind, kept current by list + watch; handlers only get told that something changed. */
export interface Cache<T extends KubernetesObject> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}

export interface Informer<T extends KubernetesObject> extends Cache<T> {
  /** Resolves once the first list arrived (the cache is complete). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type ChangeHandler<T> = (kind: 'add' | 'update' | 'delete', obj: T) => void;

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** API paths to watch: one per namespace, or one cluster-wide path. */
  paths: { path: string; list: () => Promise<KubernetesListObject<T>> }[];
  labelSelector?: string;
  what: string;
  log: Logger;
  onChange: ChangeHandler<T>;
  /** Delay before restarting a watch that failed (doubles up to 30 s). */
  restartDelayMs?: number;
}

/**
 * client-node's ListWatch re-lists by itself after 410 Gone, but stops on any other error: restart
 * it with a growing delay, and the handlers see the re-list as updates (reconcile is idempotent).
 */
export function createInformer<T extends KubernetesObject>(options: InformerOptions<T>): Informer<T> {
  const base = options.restartDelayMs ?? 500;
  const watches = options.paths.map(({ path, list }) => {
    const lw = new ListWatch<T>(path, new Watch(options.kubeConfig), list, false, options.labelSelector);
    let failures = 0;
    let lastFailureAt = 0;
    let stopped = false;
    let listed = false;
    let listError: unknown;
    // A restart counts as recovered once the watch delivers something: lw.start() resolves even when
    // its list or watch failed (the failure arrives as an 'error' event), so it cannot reset the backoff.
    const delivered = (): void => {
      failures = 0;
    };
    lw.on('add', (obj) => {
      delivered();
      options.onChange('add', obj);
    });
    lw.on('update', (obj) => {
      delivered();
      options.onChange('update', obj);
    });
    lw.on('delete', (obj) => {
      delivered();
      options.onChange('delete', obj);
    });
    const restart = (error: unknown): void => {
      if (!listed) {
        listError = error; // before the first list, start() retries by itself
        return;
      }
      if (stopped) return;
      // A failure long after the last one starts a new episode, even if nothing was delivered since.
      if (Date.now() - lastFailureAt > 60_000) failures = 0;
      lastFailureAt = Date.now();
      failures++;
      const delay = Math.min(30_000, base * 2 ** Math.min(failures - 1, 6));
      options.log.warn('watch failed; restarting', {
        what: options.what,
        path,
        error: describeError(error),
        retryInMs: delay,
      });
      setTimeout(() => {
        if (stopped) return;
        lw.start().catch((e: unknown) => restart(e));
      }, delay).unref();
    };
    lw.on('error', restart);
    return {
      lw,
      start: async () => {
        stopped = false;
        // The first list may fail (RBAC not there yet, API server starting): retry until it works.
        for (let attempt = 1; !stopped; attempt++) {
          try {
            await lw.start();
          } catch (error) {
            if (lw.latestResourceVersion() !== '') {
              listed = true;
              restart(error);
              return;
            }
          }
          if (lw.latestResourceVersion() !== '') {
            listed = true;
            return;
          }
          options.log.warn('list failed; retrying', {
            what: options.what,
            path,
            attempt,
            error: describeError(listError),
          });
          await new Promise((r) => setTimeout(r, Math.min(5_000, base * attempt)));
        }
      },
      stop: async () => {
        stopped = true;
        await lw.stop();
      },
    };
  });
  return {
    start: async () => {
      await Promise.all(watches.map((w) => w.start()));
    },
    stop: async () => {
      await Promise.all(watches.map((w) => w.stop()));
    },
    get: (name, namespace) => {
      for (const w of watches) {
        const found = w.lw.get(name, namespace);
        if (found) return found;
      }
      return undefined;
    },
    list: (namespace) => watches.flatMap((w) => w.lw.list(namespace)),
  };
}
