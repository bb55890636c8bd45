// A work queue in the shape of client-go's: keys only, de-duplicated, one worker per key at a time
// (a key added while it is being processed runs once more afterwards), per-key exponential backoff
// on failure, and delayed re-adds for "come back later".

export interface QueueOptions {
  /** Workers running keys in parallel (different keys only). */
  concurrency: number;
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface WorkResult {
  /** Run the key again after this long even if nothing changes. */
  requeueAfterMs?: number;
}

export type Worker = (key: string) => Promise<WorkResult | void>;

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  /** Number of consecutive failures of `key` (0 after a success). */
  failures(key: string): number;
  /** Keys waiting or running. */
  size(): number;
  /** Resolves once nothing is queued or running (tests, shutdown). */
  drained(): Promise<void>;
  /** Stops taking keys; resolves when the running ones finished. */
  shutDown(): Promise<void>;
}

export function backoffDelay(
  failures: number,
  options: Pick<QueueOptions, 'baseDelayMs' | 'maxDelayMs'>,
): number {
  return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, failures - 1));
}

export function createWorkQueue(
  worker: Worker,
  options: QueueOptions,
  onError: (key: string, error: unknown, retryInMs: number) => void,
): WorkQueue {
  const queued: string[] = [];
  const queuedSet = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>(); // added while running
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const failureCounts = new Map<string, number>();
  let active = 0;
  let stopped = false;
  let idleWaiters: (() => void)[] = [];

  const idle = (): boolean => queued.length === 0 && active === 0;
  const notifyIdle = (): void => {
    if (!idle()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const pump = (): void => {
    while (!stopped && active < options.concurrency && queued.length > 0) {
      const key = queued.shift() as string;
      queuedSet.delete(key);
      running.add(key);
      active++;
      // Never inside the caller's turn: an informer adds keys while it fills its cache from a list,
      // and reconcile must see the whole list, not the part added so far.
      setImmediate(() => void run(key));
    }
    notifyIdle();
  };

  const run = async (key: string): Promise<void> => {
    try {
      const result = await worker(key);
      failureCounts.delete(key);
      if (result?.requeueAfterMs !== undefined) addAfter(key, result.requeueAfterMs);
    } catch (error) {
      const failures = (failureCounts.get(key) ?? 0) + 1;
      failureCounts.set(key, failures);
      const delay = backoffDelay(failures, options);
      onError(key, error, delay);
      addAfter(key, delay);
    } finally {
      running.delete(key);
      active--;
      if (dirty.delete(key)) add(key);
      pump();
    }
  };

  const add = (key: string): void => {
    if (stopped) return;
    const pending = timers.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      timers.delete(key);
    }
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    if (queuedSet.has(key)) return;
    queuedSet.add(key);
    queued.push(key);
    pump();
  };

  const addAfter = (key: string, delayMs: number): void => {
    if (stopped) return;
    if (delayMs <= 0) return add(key);
    const at = Date.now() + delayMs;
    const pending = timers.get(key);
    // The earliest wake-up wins: a short requeue is not pushed back by a later long one.
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      timers.delete(key);
      add(key);
    }, delayMs);
    timer.unref();
    timers.set(key, { at, timer });
  };

  return {
    add,
    addAfter,
    failures: (key) => failureCounts.get(key) ?? 0,
    size: () => queued.length + active,
    drained: () => (idle() ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    shutDown: async () => {
      stopped = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      queued.length = 0;
      queuedSet.clear();
      if (active > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
