import type { ClientCapabilities, Result, Server } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';

/**
 * The bridge from a 2026-07-28 backend to a 2025-era session (the reverse of bridge.ts). A
 * modern backend cannot send requests to its client: it ends `tools/call`, `prompts/get` or
 * `resources/read` with `input_required`, listing what it needs. A 2025-era client only knows
 * requests sent to it, so the proxy asks the session that called — real `sampling/createMessage`,
 * `elicitation/create`, `roots/list` requests, the questions of one round at once — and retries
 * the backend with the answers and the byte-exact `requestState`, round after round, until the
 * backend completes. Only what the client declared is asked: the backend was told those
 * capabilities, and a question beyond them fails the call with an error that says so.
 */

/** A backend that keeps asking is cut off: each round holds the client's call open. */
export const MAX_INPUT_ROUNDS = 16;

const NEEDS: Record<string, keyof ClientCapabilities> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

interface InputRequiredResult {
  resultType: 'input_required';
  inputRequests?: Record<string, { method?: unknown; params?: unknown }>;
  requestState?: string;
}

export function isInputRequired(result: Result): result is Result & InputRequiredResult {
  return (result as { resultType?: unknown }).resultType === 'input_required';
}

export interface RoundsContext {
  backend: string;
  method: string;
  server: Server;
  signal: AbortSignal;
  /** Sends the call again with the answers (the retry gets a new request id). */
  retry(inputResponses: Record<string, unknown>, requestState: string | undefined): Promise<Result>;
}

/** Answers `first` and every later input_required round by asking the session; returns the final result. */
export async function fulfilInputRounds(first: Result, ctx: RoundsContext): Promise<Result> {
  let result = first;
  for (let round = 1; isInputRequired(result); round++) {
    if (round > MAX_INPUT_ROUNDS) {
      throw new ProtocolError(
        ProtocolErrorCode.InternalError,
        `backend "${ctx.backend}" still asked for input after ${MAX_INPUT_ROUNDS} rounds of ${ctx.method}`,
        { backend: ctx.backend },
      );
    }
    const requests = Object.entries(result.inputRequests ?? {});
    const answers = await Promise.all(
      requests.map(async ([key, request]) => [key, await askSession(ctx, request)] as const),
    );
    result = await ctx.retry(Object.fromEntries(answers), result.requestState);
  }
  return result;
}

/** Asks the session one question a modern backend listed (also for its tasks' inputRequests). */
export async function askSession(
  ctx: Pick<RoundsContext, 'backend' | 'method' | 'server' | 'signal'>,
  request: { method?: unknown; params?: unknown },
): Promise<Result> {
  const method = typeof request.method === 'string' ? request.method : String(request.method);
  const needed = NEEDS[method];
  if (!needed) {
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      `backend "${ctx.backend}" asked for ${method} during ${ctx.method}, which a 2025-era client cannot be asked`,
      { backend: ctx.backend },
    );
  }
  if (!ctx.server.getClientCapabilities()?.[needed]) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidRequest,
      `backend "${ctx.backend}" needs ${method} to complete ${ctx.method}, but this client did not declare the ${needed} capability`,
      { backend: ctx.backend, requiredCapabilities: { [needed]: {} } },
    );
  }
  const params = (request.params ?? {}) as never;
  const options = { signal: ctx.signal };
  if (method === 'sampling/createMessage') return ctx.server.createMessage(params, options);
  if (method === 'elicitation/create') return ctx.server.elicitInput(params, options);
  return ctx.server.listRoots(undefined, options);
}
