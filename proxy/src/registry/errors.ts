/**
 * Errors raised inside the proxy about its backends. The gateway maps each to one JSON-RPC
 * error for clients (see gateway/errors.ts); the message always names the backend.
 */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  constructor(
    readonly backend: string,
    readonly state: string,
    readonly reason?: string,
  ) {
    super(`backend "${backend}" is unavailable (${state}${reason ? `: ${reason}` : ''})`);
  }
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
  }
}

/** Rejects with a TimeoutError after `ms`; the timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
