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
  /** How long the API server keeps one watch open (default 300 s); see WatchWithDeadline. */
  watchTimeoutSeconds?: number;
}

type WatchDone = (err: unknown) => void;

/**
 * A watch can stall without an error: a connection that a NAT, load balancer or half-dead node
 * silently dropped delivers nothing, and no error ever comes, so the cache would stay old for
 * good (TCP keep-alive does not help when the path, not the peer, is gone). Every watch therefore
 * asks the API server to end it after `timeoutSeconds` (the informer then watches again from where
 * it was, without a new list), and one still open well past that is given up as stalled: its
 * `done` reports an error, which the informer's ordinary restart handles.
 */
export class WatchWithDeadline extends Watch {
  constructor(
    kubeConfig: KubeConfig,
    private readonly timeoutSeconds: number,
  ) {
    super(kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: Record<string, unknown>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: WatchDone,
  ): Promise<AbortController> {
    const graceSeconds = Math.max(2, this.timeoutSeconds / 10);
    let finished = false;
    // Set once the response started; the deadline may pass before that.
    const request: { controller?: AbortController } = {};
    const finish: WatchDone = (err) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      done(err);
    };
    const deadline = setTimeout(
      () => {
        // Reported first: aborting makes the request end with an error of its own at once.
        finish(
          new Error(
            `watch stalled: still open ${graceSeconds} s after the ${this.timeoutSeconds} s the API server was asked to end it at`,
          ),
        );
        request.controller?.abort();
      },
      (this.timeoutSeconds + graceSeconds) * 1000,
    );
    deadline.unref();
    const controller = await super.watch(
      path,
      { ...queryParams, timeoutSeconds: this.timeoutSeconds },
      callback,
      finish,
    );
    request.controller = controller;
    // Given up before the response even started: end that request too.
    if (finished) controller.abort();
    return controller;
  }
}

/**
 * client-node's ListWatch re-lists by itself after 410 Gone, but stops on any other error: restart
 * it with a growing delay, and the handlers see the re-list as updates (reconcile is idempotent).
 * A watch that goes silent is ended by WatchWithDeadline and restarted the same way.
 */
export function createInformer<T extends KubernetesObject>(options: InformerOptions<T>): Informer<T> {
  const base = options.restartDelayMs ?? 500;
  const watches = options.paths.map(({ path, list }) => {
    const watch = new WatchWithDeadline(options.kubeConfig, options.watchTimeoutSeconds ?? 300);
    const lw = new ListWatch<T>(path, watch, list, false, options.labelSelector);
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
