import type { Logger } from './log.js';
import { errorMessage } from './log.js';
import { killAllProcessTreesNow } from './registry/processes.js';

export interface ShutdownOptions {
  log: Logger;
  /** How long calls in flight may run on after shutdown begins. */
  drainTimeoutMs: number;
  /** Readiness fails and new sessions are refused from here on. */
  beginDrain(): void;
  /** Calls still being answered (front door requests and backend relays). */
  inFlight(): number;
  /** Closes the front door, then the backends (whose process trees are ended). */
  close(): Promise<void>;
  exit(code: number): void;
  /** Bound on close() once the drain is over; past it, process trees are killed and the exit is 1. */
  closeTimeoutMs?: number;
}

export interface Shutdown {
  /** Begins a shutdown (`drain: false` when there is nobody left to answer); later calls are ignored. */
  stop(reason: string, options?: { drain?: boolean }): Promise<void>;
  /** A first signal begins the shutdown; a second one exits at once. */
  signal(signal: NodeJS.Signals): void;
}

const POLL_MS = 25;
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * The proxy's way out, as a cluster expects of a workload: on SIGTERM readiness fails at once (the
 * Service stops routing here) and new sessions are refused, calls in flight get up to the drain
 * timeout to finish, then the front door and the backends are closed and the proxy exits 0. A second
 * signal means "now": every backend process tree gets SIGKILL and the proxy exits at once.
 */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const { log } = options;
  let stopping = false;

  const drain = async (): Promise<void> => {
    const deadline = Date.now() + options.drainTimeoutMs;
    const waiting = options.inFlight();
    if (waiting === 0) return;
    log.info('draining calls in flight', { calls: waiting, timeoutMs: options.drainTimeoutMs });
    while (options.inFlight() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const left = options.inFlight();
    if (left > 0) log.warn('drain timed out; cutting the calls still in flight', { calls: left });
    else log.info('drained');
  };

  const stop = async (reason: string, { drain: shouldDrain = true } = {}): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { reason });
    options.beginDrain();
    if (shouldDrain) await drain();
    const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => {
      timer = setTimeout(() => resolve('stuck'), closeTimeoutMs);
    });
    const closed = options.close().then(
      () => 'closed' as const,
      (error: unknown) => {
        log.warn('close failed', { error: errorMessage(error) });
        return 'closed' as const;
      },
    );
    const outcome = await Promise.race([closed, stuck]);
    clearTimeout(timer);
    if (outcome === 'stuck') {
      log.error('shutdown did not finish in time; killing backend processes', { timeoutMs: closeTimeoutMs });
      killAllProcessTreesNow();
      options.exit(1);
      return;
    }
    // close() ended every tree it knew of; this catches any still being spawned as it ran.
    killAllProcessTreesNow();
    log.info('stopped');
    options.exit(0);
  };

  const signal = (name: NodeJS.Signals): void => {
    if (!stopping) {
      void stop(name);
      return;
    }
    log.warn('second signal: exiting now', { signal: name });
    killAllProcessTreesNow();
    options.exit(128 + (SIGNAL_NUMBERS[name] ?? 0));
  };

  return { stop, signal };
}
