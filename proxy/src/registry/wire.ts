import type {
  JSONRPCMessage,
  MessageExtraInfo,
  Progress,
  Result,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/client';

/** A backend's own JSON-RPC error, passed to the client as it came. */
export class BackendRpcError extends Error {
  override readonly name = 'BackendRpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export class WireClosedError extends Error {
  override readonly name = 'WireClosedError';
}

export class WireTimeoutError extends Error {
  override readonly name = 'WireTimeoutError';
}

export interface RawRequestOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Progress from the backend for this request; each one also restarts the timeout. */
  onprogress?: (progress: Progress) => void;
  /** Extra HTTP headers for this request (Streamable HTTP only): a tools/call's `Mcp-Param-*`. */
  headers?: Record<string, string>;
}

interface Pending {
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
  onprogress: ((progress: Progress) => void) | undefined;
  restartTimer: () => void;
}

const ID_PREFIX = 'multi-mcp:';

/**
 * Sits between a backend's transport and the SDK `Client` that owns it. The client keeps the
 * handshake, lists, notifications and the backend's requests; relayed calls go out raw
 * through `request()` and their answers are taken off the wire before the client sees them,
 * skipping the client's per-request codec, schema and bookkeeping. Raw requests use string
 * ids with a prefix the SDK (numeric ids) never produces, and their id as progress token.
 */
export class RawWire implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly inner: Transport) {}

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  async start(): Promise<void> {
    this.inner.onmessage = (message, extra) => {
      if (!this.takeOwn(message)) this.onmessage?.(message, extra);
    };
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onclose = () => {
      this.closed = true;
      for (const [, waiting] of this.pending) waiting.reject(new WireClosedError('connection closed'));
      this.pending.clear();
      this.onclose?.();
    };
    await this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  request(method: string, params: Record<string, unknown>, options: RawRequestOptions): Promise<Result> {
    if (this.closed) return Promise.reject(new WireClosedError('connection closed'));
    const id = `${ID_PREFIX}${++this.nextId}`;
    const { signal, onprogress, timeoutMs, headers } = options;
    if (onprogress) params = { ...params, _meta: { ...(params['_meta'] as object), progressToken: id } };

    return new Promise<Result>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      const cancel = (reason: unknown): void => {
        const params = { requestId: id, ...(typeof reason === 'string' && { reason }) };
        this.inner.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params }).catch(() => {});
      };
      const onAbort = (): void => {
        settle();
        cancel(signal?.reason);
        reject(
          signal?.reason instanceof Error ? signal.reason : new Error(String(signal?.reason ?? 'aborted')),
        );
      };
      const restartTimer = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          settle();
          cancel('timeout');
          reject(new WireTimeoutError(`no answer to ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      restartTimer();
      this.pending.set(id, {
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        onprogress,
        restartTimer,
      });
      // Over Streamable HTTP, closing the request's stream is how a 2026-07-28 server hears a cancel.
      const sendOptions =
        signal || headers
          ? { ...(signal && { requestSignal: signal }), ...(headers && { headers }) }
          : undefined;
      this.inner.send({ jsonrpc: '2.0', id, method, params }, sendOptions).catch((error: unknown) => {
        this.pending.get(id)?.reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  /** Takes the answers and progress of raw requests; true when the message was one of them. */
  private takeOwn(message: JSONRPCMessage): boolean {
    if ('id' in message && !('method' in message)) {
      const waiting = typeof message.id === 'string' ? this.pending.get(message.id) : undefined;
      if (!waiting) return false;
      if ('result' in message) waiting.resolve(message.result);
      else waiting.reject(new BackendRpcError(message.error.code, message.error.message, message.error.data));
      return true;
    }
    if ('method' in message && message.method === 'notifications/progress' && !('id' in message)) {
      const token = message.params?.['progressToken'];
      const waiting = typeof token === 'string' ? this.pending.get(token) : undefined;
      if (!waiting) return false;
      const { progressToken: _token, ...progress } = message.params as Progress & { progressToken: string };
      waiting.restartTimer();
      waiting.onprogress?.(progress);
      return true;
    }
    return false;
  }
}
