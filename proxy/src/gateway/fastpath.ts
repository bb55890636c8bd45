import type {
  ClientCapabilities,
  JSONRPCMessage,
  LoggingLevel,
  MessageExtraInfo,
  Notification,
  RequestId,
  Result,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { errorMessage } from '../log.js';

/** What a relayed call needs from the client's side: its id, its cancellation and a way to send progress. */
export interface RelayContext {
  /** The client's JSON-RPC id, for log lines about the call. */
  requestId: RequestId;
  signal: AbortSignal;
  notify: (notification: Notification) => Promise<void>;
  /**
   * What a 2026-07-28 request carried besides its params: its log level, and on a retry of a
   * call a modern backend asked for input, the answers and the backend's requestState.
   */
  modern?: {
    /** The 2026 caller's declared capabilities (its envelope), told to a modern backend. */
    capabilities?: ClientCapabilities;
    logLevel?: LoggingLevel;
    inputResponses?: Record<string, unknown>;
    requestState?: string;
    /** The `Mcp-Param-*` headers it came with, passed on to a modern backend over HTTP. */
    paramHeaders?: Record<string, string>;
  };
}

export type RelayHandler = (params: Record<string, unknown>, context: RelayContext) => Promise<Result>;

/**
 * Answers relayed calls (tools/call, prompts/get, resources/read, completion/complete) of a
 * session straight from its transport, around the SDK `Server`, whose per-request work
 * (era codec, context, result encoding) costs more than the relay itself. Everything else —
 * the handshake, lists, subscriptions, pings, the client's answers to sampling — goes to the
 * `Server` as before. Only 2025-era sessions take this path: it turns on when `initialize`
 * passes, since 2026-07-28 results need the SDK's era encoding.
 */
export interface FastPathTransport extends Transport {
  /** `initialize` has passed: relayed calls may be answered around the `Server`. */
  readonly initialized: boolean;
  /**
   * Runs one relayed call of this session outside the transport (the HTTP front door answers
   * it as JSON on its own response) and resolves with its JSON-RPC response, or undefined when
   * the client cancelled it. It is cancellable like any other: `notifications/cancelled`
   * arriving through the transport aborts it, and so does the session closing.
   */
  answerDirect(
    id: RequestId,
    handler: RelayHandler,
    params: Record<string, unknown>,
  ): Promise<JSONRPCMessage | undefined>;
}

export function withFastPath(
  inner: Transport,
  handlerFor: (method: string) => RelayHandler | undefined,
): FastPathTransport {
  const inFlight = new Map<RequestId, AbortController>();
  let initialized = false;

  const run = (
    id: RequestId,
    handler: RelayHandler,
    params: Record<string, unknown>,
    options: TransportSendOptions,
  ): Promise<JSONRPCMessage | undefined> => {
    const controller = new AbortController();
    inFlight.set(id, controller);
    const context: RelayContext = {
      requestId: id,
      signal: controller.signal,
      notify: (notification) => inner.send({ jsonrpc: '2.0', ...notification }, options),
    };
    return handler(params, context)
      .then(
        (result): JSONRPCMessage => ({ jsonrpc: '2.0', id, result }),
        (error: unknown): JSONRPCMessage => ({ jsonrpc: '2.0', id, error: toJsonRpcError(error) }),
      )
      .then((response) => (controller.signal.aborted ? undefined : response))
      .finally(() => inFlight.delete(id));
  };

  const answer = (id: RequestId, handler: RelayHandler, params: Record<string, unknown>): void => {
    const options: TransportSendOptions = { relatedRequestId: id };
    run(id, handler, params, options)
      .then((response) => {
        // A cancelled request gets no response (the client has forgotten the id).
        if (response) return inner.send(response, options);
      })
      .catch((error: unknown) =>
        wrapper.onerror?.(new Error(`sending a response failed: ${errorMessage(error)}`)),
      );
  };

  const wrapper: FastPathTransport = {
    get initialized() {
      return initialized;
    },
    // Nothing is sent through the transport for these: progress needs its stream, so a call
    // with a progress token is never answered directly (the front door checks).
    answerDirect: (id, handler, params) => run(id, handler, params, { relatedRequestId: id }),
    async start() {
      const previousMessage = inner.onmessage;
      const previousClose = inner.onclose;
      const previousError = inner.onerror;
      inner.onmessage = <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => {
        previousMessage?.(message, extra);
        if ('method' in message) {
          if ('id' in message) {
            const handler = initialized ? handlerFor(message.method) : undefined;
            if (handler) return answer(message.id, handler, message.params ?? {});
            if (message.method === 'initialize') initialized = true;
          } else if (message.method === 'notifications/cancelled') {
            const controller = inFlight.get(message.params?.['requestId'] as RequestId);
            if (controller) return controller.abort(message.params?.['reason']);
          }
        }
        wrapper.onmessage?.(message, extra);
      };
      inner.onclose = () => {
        previousClose?.();
        for (const controller of inFlight.values()) controller.abort('session closed');
        wrapper.onclose?.();
      };
      inner.onerror = (error) => {
        previousError?.(error);
        wrapper.onerror?.(error);
      };
      await inner.start();
    },
    send: (message, options) => inner.send(message, options),
    close: () => inner.close(),
    get sessionId() {
      return inner.sessionId;
    },
    get hasPerRequestStream() {
      return inner.hasPerRequestStream;
    },
    setProtocolVersion: (version) => inner.setProtocolVersion?.(version),
    setSupportedProtocolVersions: (versions) => inner.setSupportedProtocolVersions?.(versions),
  };
  return wrapper;
}

function toJsonRpcError(error: unknown): { code: number; message: string; data?: unknown } {
  if (error instanceof ProtocolError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.data !== undefined && { data: error.data }),
    };
  }
  return { code: ProtocolErrorCode.InternalError, message: errorMessage(error) };
}
