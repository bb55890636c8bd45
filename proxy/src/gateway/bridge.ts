import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ClientCapabilities, Result } from '@modelcontextprotocol/server';
import {
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
} from '@modelcontextprotocol/server';
import { canonicalJson } from '../catalog/definition.js';
import type { RelayContext } from './fastpath.js';
import type { Caller } from './sessions.js';

/**
 * The bridge from a 2025-era backend to a 2026-07-28 client (multi-round-trip requests). A
 * backend asks the client with `sampling/createMessage`, `elicitation/create` or `roots/list`
 * while it serves a call; a 2026 client can only be asked by ending its request with an
 * `input_required` result and reading its retry. So the backend's call outlives the client's
 * request: it waits here, in a continuation, while its questions go out as `inputRequests` and
 * a sealed `requestState` naming the continuation; the retry's `inputResponses` answer them and
 * the call goes on, round after round, until it completes. Questions asked in the same turn go
 * out together. A continuation that is not resumed within `ttlMs` is cancelled (the backend sees
 * the call cancelled, its questions fail). It lives in this replica's memory: a retry that
 * reaches another replica is told its requestState is unknown.
 *
 * A requestState is sealed to who asked and where: its MAC covers the continuation's id, the
 * caller's OAuth principal and the virtual server (endpoint) that issued it. A retry with
 * another subject's token, or at another endpoint, fails the MAC check like a tampered state:
 * it cannot even learn that the continuation exists.
 */

export const MRTR_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** Which client capability each question needs. */
const NEEDS: Record<string, keyof ClientCapabilities> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

export interface BridgeCall {
  method: string;
  /** The request's params, without `_meta`, `inputResponses` and `requestState`. */
  params: Record<string, unknown>;
  capabilities: ClientCapabilities;
  requestState: string | undefined;
  inputResponses: Record<string, unknown> | undefined;
  notify: RelayContext['notify'];
  /**
   * Who may resume the call and where: the caller's OAuth principal (undefined without OAuth)
   * and the virtual server it came through (undefined: the whole catalog at /mcp).
   */
  scope: { principal: string | undefined; view: string | undefined };
}

/** What a bridged call runs with instead of its first request's: its own signal and notify. */
export type BridgeContext = Pick<RelayContext, 'signal' | 'notify'>;

export interface InputBridge {
  /** Runs (first round) or resumes (a retry) one call; `run` relays it with the given context. */
  serve(call: BridgeCall, run: (own: BridgeContext) => Promise<Result>): Promise<Result>;
  /** The caller whose backend call runs under `signal`, so backend questions find it. */
  callerFor(signal: AbortSignal): Caller | undefined;
  /** Calls waiting for a client's retry (for tests and metrics). */
  readonly size: number;
  close(): void;
}

interface Question {
  method: string;
  params: Record<string, unknown>;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
  asked: boolean;
}

interface Continuation {
  id: string;
  /** The first round's call: what a retry must repeat. */
  call: BridgeCall;
  binding: string | undefined;
  questions: Map<string, Question>;
  nextKey: number;
  capabilities: ClientCapabilities;
  controller: AbortController;
  outcome: Promise<{ result: Result } | { error: unknown }>;
  /** Set when something happens that the waiting round must look at. */
  wake: () => void;
  failure: ProtocolError | undefined;
  resuming: boolean;
  timer: NodeJS.Timeout | undefined;
  notify: RelayContext['notify'];
}

export interface InputBridgeOptions {
  /** How long a client has to retry before the backend's call is cancelled. */
  ttlMs: number;
  /** At most this many calls wait for client input at once; more fail (each holds a backend call). */
  maxOpen: number;
}

export function createInputBridge(options: InputBridgeOptions): InputBridge {
  const key = randomBytes(32);
  const live = new Map<string, Continuation>();
  const callers = new WeakMap<AbortSignal, Caller>();

  // JSON keeps the parts apart: no principal or view name can be spelled to collide with another.
  const mac = (id: string, scope: BridgeCall['scope']): string =>
    createHmac('sha256', key)
      .update(JSON.stringify([id, scope.principal ?? null, scope.view ?? null]))
      .digest('base64url');
  const seal = (id: string, scope: BridgeCall['scope']): string => `${id}.${mac(id, scope)}`;
  const unseal = (state: string, scope: BridgeCall['scope']): string => {
    const [id, tag, extra] = state.split('.');
    const expected = id === undefined ? '' : mac(id, scope);
    const ok =
      id !== undefined &&
      tag !== undefined &&
      extra === undefined &&
      tag.length === expected.length &&
      timingSafeEqual(Buffer.from(tag), Buffer.from(expected));
    if (!ok)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'requestState was not issued by this proxy');
    return id;
  };

  /** Forgets `c`; with `cancel`, also cancels the backend's call and fails its open questions. */
  const end = (c: Continuation, cancel?: string): void => {
    clearTimeout(c.timer);
    live.delete(c.id);
    if (cancel === undefined) return;
    c.controller.abort(new Error(cancel));
    for (const q of c.questions.values())
      q.reject(new ProtocolError(ProtocolErrorCode.InternalError, cancel));
    c.questions.clear();
  };

  const ask = (c: Continuation, method: string, params: Record<string, unknown>): Promise<Result> => {
    const needed = NEEDS[method];
    if (!needed) {
      return Promise.reject(
        new ProtocolError(ProtocolErrorCode.MethodNotFound, `multi-mcp: ${method} cannot be bridged`),
      );
    }
    if (!c.capabilities[needed]) {
      // Many backends list roots on their own schedule, whatever call is in flight: a client
      // without roots has none (as for sessions), and its call goes on. The spec only forbids
      // asking it (conformance: input-required-result-capability-check).
      if (needed === 'roots') return Promise.resolve({ roots: [] });
      c.failure = new MissingRequiredClientCapabilityError(
        { requiredCapabilities: { [needed]: {} } },
        `the backend asked for ${method}, but the request did not declare the ${needed} capability`,
      );
      c.wake();
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `multi-mcp: the client does not support ${method}`,
        ),
      );
    }
    return new Promise<Result>((resolve, reject) => {
      c.questions.set(`q${c.nextKey++}`, { method, params, resolve, reject, asked: false });
      c.wake();
    });
  };

  /** Waits for the call to finish or to need answers, and says which to the client. */
  const round = async (c: Continuation): Promise<Result> => {
    for (;;) {
      const woken = new Promise<void>((resolve) => (c.wake = resolve));
      if (c.questions.size === 0 && !c.failure) {
        // Most calls never ask: their result goes out with no extra turn.
        const settled = await Promise.race([c.outcome, woken.then(() => undefined)]);
        if (settled !== undefined && c.questions.size === 0 && !c.failure) {
          end(c);
          if ('error' in settled) throw settled.error;
          return settled.result;
        }
      }
      // Questions asked in the same turn go out together.
      await new Promise((resolve) => setImmediate(resolve));
      if (c.failure) {
        const failure = c.failure;
        end(c, failure.message);
        throw failure;
      }
      if (c.questions.size === 0) continue;
      if (c.id === '' && live.size >= options.maxOpen) {
        end(c, 'too many input_required continuations open');
        throw new ProtocolError(
          ProtocolErrorCode.InternalError,
          `multi-mcp: ${options.maxOpen} calls are already waiting for client input; try again later`,
        );
      }
      const inputRequests: Record<string, unknown> = {};
      for (const [k, q] of c.questions) {
        q.asked = true;
        inputRequests[k] = { method: q.method, params: q.params };
      }
      if (c.id === '') {
        c.id = randomUUID();
        c.binding = bindingOf(c.call);
        live.set(c.id, c);
      }
      clearTimeout(c.timer);
      c.timer = setTimeout(() => end(c, 'input_required continuation expired'), options.ttlMs);
      c.timer.unref();
      c.resuming = false;
      return {
        resultType: 'input_required',
        inputRequests,
        requestState: seal(c.id, c.call.scope),
      } as Result;
    }
  };

  // Canonical: a retry that spells the same arguments in another key order is the same call.
  const bindingOf = (call: BridgeCall): string => canonicalJson([call.method, call.params]);

  return {
    async serve(call, run) {
      if (call.requestState === undefined) {
        const controller = new AbortController();
        const c: Continuation = {
          // Named (and bound) only once it asks: most calls never do, and pay nothing for it.
          id: '',
          call,
          binding: undefined,
          questions: new Map(),
          nextKey: 1,
          capabilities: call.capabilities,
          controller,
          outcome: Promise.resolve({ result: {} }),
          wake: () => {},
          failure: undefined,
          resuming: true,
          timer: undefined,
          notify: call.notify,
        };
        const caller: Caller = {
          id: 'stateless',
          inFlight: new Map(),
          ask: (method, params) => ask(c, method, params),
        };
        callers.set(controller.signal, caller);
        // Progress of later rounds goes to the request of the round in progress.
        const notify: RelayContext['notify'] = (n) => c.notify(n);
        c.outcome = run({ signal: controller.signal, notify }).then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
        return round(c);
      }
      const c = live.get(unseal(call.requestState, call.scope));
      if (!c) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          'requestState is unknown here: it expired, was already used, or belongs to another replica',
        );
      }
      if (c.binding !== bindingOf(call)) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          'a retry must repeat the original request: method, name and arguments differ',
        );
      }
      if (c.resuming)
        throw new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          'this requestState is being resumed already',
        );
      const responses = call.inputResponses ?? {};
      for (const k of Object.keys(responses)) {
        if (!c.questions.get(k)?.asked) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `inputResponses.${k} answers nothing that was asked`,
          );
        }
      }
      c.resuming = true;
      c.capabilities = call.capabilities;
      c.notify = call.notify;
      for (const [k, value] of Object.entries(responses)) {
        c.questions.get(k)?.resolve(value as Result);
        c.questions.delete(k);
      }
      return round(c);
    },
    callerFor: (signal) => callers.get(signal),
    get size() {
      return live.size;
    },
    close() {
      for (const c of [...live.values()]) end(c, 'proxy shutting down');
    },
  };
}
