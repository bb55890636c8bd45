import type { ClientCapabilities, Result, Server, ServerContext } from '@modelcontextprotocol/server';
import {
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { RelayContext } from './fastpath.js';
import type { Caller } from './sessions.js';
import type { TaskEntry, TaskTable } from './tasks.js';
import { TERMINAL } from './tasks.js';
import { TASKS_EXTENSION, createExtensionTasks } from './tasks-extension.js';
import { createTaskRelay } from './tasks-relay.js';

/**
 * The 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) for stateless
 * clients, served over the backends' 2025-11-25 tasks. A client that declares the extension and
 * calls a tool its backend runs only as a task (`execution.taskSupport: "required"`) gets
 * `resultType: "task"` with an id of the proxy's; `tasks/get` polls the backend and, once the
 * task is terminal, fetches its outcome (`tasks/result`) and returns it inline; `tasks/cancel`
 * is relayed. A client without the extension calling such a tool gets the final result as if
 * the call were synchronous: the proxy creates the task and waits on `tasks/result`.
 *
 * SDK: `tasks/get` and `tasks/cancel` are 2025-era method names that the v2 server's era gate
 * answers with -32601 on a 2026-07-28 request before any handler runs (typescript-sdk #2598).
 * The gate lets them through when they are registered with explicit schemas (the exemption
 * from typescript-sdk #2599, in 2.4.0), so they are registered that way here.
 *
 * A backend that serves the extension itself (a 2026-07-28 backend) decides on its own which
 * calls become tasks: its `resultType: "task"` is recorded under an id of the proxy's, and
 * `tasks/get|update|cancel` are relayed to it raw (tasks-extension.ts).
 */

export { TASKS_EXTENSION };
export const MODERN_TASKS_CAPABILITY = { [TASKS_EXTENSION]: {} };

type Params = Record<string, unknown>;

export interface ModernTasksDeps {
  server: Server;
  tasks: TaskTable;
  call: (backend: string, method: string, params: Params, ctx: RelayContext) => Promise<Result>;
  connectionOf: (backend: string) => object | undefined;
  /** Whether a backend serves the tasks extension itself (a modern backend that declared it). */
  servesExtension: (backend: string) => boolean;
  relayContextOf: (ctx: ServerContext) => RelayContext;
  /** Runs `work` with `caller` as the one a backend's requests to `backend` go to (sessions.ts). */
  withCaller: <T>(caller: Caller, backend: string, work: () => Promise<T>) => Promise<T>;
}

/** How long a poll of an input_required task waits for the backend's question to arrive. */
const FIRST_QUESTION_WAIT_MS = 1_000;

/** After a first question, how long to wait for others asked in the same turn. */
const QUESTION_BATCH_MS = 50;

/** Which client capability each kind of backend question needs. */
const NEEDS: Record<string, keyof ClientCapabilities> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

interface Question {
  method: string;
  params: Params;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
}

/** A backend task in input_required whose `tasks/result` the proxy holds open for a stateless client. */
interface Pump {
  questions: Map<string, Question>;
  controller: AbortController;
  /** Resolves when a question arrives or the wait on tasks/result ends. */
  changed: Promise<void>;
}

export interface ModernTasks {
  /** Binds the request being served (a stateless server serves one): its owner is the tasks' owner. */
  enter(ctx: ServerContext): void;
  /**
   * A 2026-07-28 `tools/call` to a tool whose backend runs it only as a task; `undefined` when
   * the tool is not one (the call is relayed as usual).
   */
  callTool(
    backend: string,
    params: Params,
    taskSupport: unknown,
    ctx: RelayContext,
  ): Promise<Result> | undefined;
}

/** Who owns a stateless request's tasks: its OAuth principal, or nobody in particular. */
function ownerOf(ctx: ServerContext): string {
  const principal = ctx.http?.authInfo?.extra?.['principal'];
  return typeof principal === 'string' ? `principal:${principal}` : 'anonymous';
}

function needsExtension(what: string): MissingRequiredClientCapabilityError {
  return new MissingRequiredClientCapabilityError(
    { requiredCapabilities: { extensions: MODERN_TASKS_CAPABILITY } },
    `${what} needs the ${TASKS_EXTENSION} extension in the request's client capabilities`,
  );
}

function declaresExtension(capabilities: ClientCapabilities | undefined): boolean {
  const extensions = (capabilities as { extensions?: Record<string, unknown> } | undefined)?.extensions;
  return typeof extensions?.[TASKS_EXTENSION] === 'object';
}

/** A 2025-11-25 task in the extension's shape (`ttlMs`, `pollIntervalMs`). */
function modernTask(task: Params): Params {
  const { ttl, pollInterval, ...rest } = task;
  return {
    ...rest,
    ttlMs: typeof ttl === 'number' ? ttl : null,
    ...(typeof pollInterval === 'number' && { pollIntervalMs: pollInterval }),
  };
}

/** Open pumps by task: shared by the per-request servers that poll the same task. */
const pumps = new WeakMap<TaskEntry, Pump>();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

const taskIdParams = z.object({ taskId: z.string() }).passthrough();
const updateParams = z
  .object({ taskId: z.string(), inputResponses: z.record(z.string(), z.unknown()).optional() })
  .passthrough();

export function registerModernTasks(deps: ModernTasksDeps): ModernTasks {
  const { server, tasks } = deps;
  let owner = 'anonymous';
  // The 2025 relay does the id mapping and the backend round trips; this file shapes them.
  const relay = createTaskRelay({
    tasks,
    owner: () => owner,
    call: deps.call,
    connectionOf: deps.connectionOf,
  });
  const extension = createExtensionTasks({ tasks, call: deps.call, connectionOf: deps.connectionOf });
  const lostTask = (entry: TaskEntry): Params => ({
    ...modernTask({ ...entry.last, taskId: entry.id }),
    status: 'failed',
    statusMessage: entry.lost,
    error: {
      code: ProtocolErrorCode.InternalError,
      message: entry.lost,
      data: { backend: entry.backend },
    },
  });

  const outcomeOf = async (
    entry: TaskEntry,
    ctx: RelayContext,
  ): Promise<NonNullable<TaskEntry['outcome']>> => {
    try {
      const result = await relay.handlers['tasks/result']!({ taskId: entry.id }, ctx);
      const { _meta: _related, ...rest } = result;
      return { result: rest };
    } catch (error) {
      const e =
        error instanceof ProtocolError
          ? error
          : new ProtocolError(ProtocolErrorCode.InternalError, String(error));
      return { error: { code: e.code, message: e.message, ...(e.data !== undefined && { data: e.data }) } };
    }
  };

  let capabilities: ClientCapabilities = {};

  const pumpFor = (entry: TaskEntry): Pump => {
    const running = pumps.get(entry);
    if (running) return running;
    let wake = (): void => {};
    const nextChange = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve));
    const pump: Pump = { questions: new Map(), controller: new AbortController(), changed: nextChange() };
    let asked = 0;
    const caller: Caller = {
      id: `task-${entry.id}`,
      inFlight: new Map(),
      ask: (method, params) =>
        new Promise<Result>((resolve, reject) => {
          pump.questions.set(`q${++asked}`, { method, params, resolve, reject });
          wake();
          pump.changed = nextChange();
        }),
    };
    pumps.set(entry, pump);
    entry.answerer = caller;
    const ctx: RelayContext = {
      requestId: caller.id,
      signal: pump.controller.signal,
      notify: async () => {},
    };
    const taskOwner = owner;
    deps
      .withCaller(caller, entry.backend, () => {
        owner = taskOwner;
        return relay.handlers['tasks/result']!({ taskId: entry.id }, ctx);
      })
      .then(
        (result) => {
          const { _meta: _related, ...rest } = result;
          entry.outcome = { result: rest };
        },
        (error: unknown) => {
          // A wait that timed out or was cancelled is not the task's outcome: a later poll asks again.
          if (pump.controller.signal.aborted || !(error instanceof ProtocolError)) return;
          if (/did not answer .* in time/.test(error.message)) return;
          entry.outcome = {
            error: {
              code: error.code,
              message: error.message,
              ...(error.data !== undefined && { data: error.data }),
            },
          };
        },
      )
      .finally(() => {
        pumps.delete(entry);
        entry.answerer = undefined;
        for (const q of pump.questions.values())
          q.reject(
            new ProtocolError(ProtocolErrorCode.InternalError, 'the task no longer waits for this input'),
          );
        wake();
      });
    return pump;
  };

  /** The open questions the requesting client can answer; others are refused to the backend now. */
  const askable = (pump: Pump): Params => {
    const inputRequests: Params = {};
    for (const [key, q] of pump.questions) {
      const needed = NEEDS[q.method];
      if (needed && capabilities[needed]) {
        inputRequests[key] = { method: q.method, params: q.params };
        continue;
      }
      pump.questions.delete(key);
      if (needed === 'roots') q.resolve({ roots: [] });
      else
        q.reject(
          new ProtocolError(
            ProtocolErrorCode.InvalidRequest,
            `multi-mcp: the client does not support ${q.method}`,
          ),
        );
    }
    return inputRequests;
  };

  const detailed = async (entry: TaskEntry, task: Params, ctx: RelayContext): Promise<Params> => {
    const status = String(task['status']);
    const shaped = modernTask(task);
    if (status === 'completed' || status === 'failed') {
      entry.outcome ??= await outcomeOf(entry, ctx);
      const outcome = entry.outcome;
      if ('result' in outcome && status === 'completed') return { ...shaped, result: outcome.result };
      const error =
        'error' in outcome
          ? outcome.error
          : {
              code: ProtocolErrorCode.InternalError,
              message: String(task['statusMessage'] ?? 'the task failed'),
              data: outcome.result,
            };
      return { ...shaped, status: 'failed', error };
    }
    if (status === 'input_required') {
      // A 2025-era backend asks for its input on the tasks/result stream: the proxy holds that
      // open and hands the backend's questions to the client as inputRequests.
      const pump = pumpFor(entry);
      if (pump.questions.size === 0) {
        await Promise.race([pump.changed, sleep(FIRST_QUESTION_WAIT_MS)]);
        // Questions a backend asks together arrive one message at a time: let the rest land.
        await sleep(QUESTION_BATCH_MS);
      }
      // The wait ended while this poll looked: the backend now says how the task ended.
      if (entry.outcome) {
        const now = await relay.handlers['tasks/get']!({ taskId: entry.id }, ctx);
        return TERMINAL.has(String(now['status']))
          ? detailed(entry, now, ctx)
          : { ...shaped, status: 'working' };
      }
      const inputRequests = askable(pump);
      if (Object.keys(inputRequests).length > 0) return { ...shaped, inputRequests };
      return { ...shaped, status: 'working' };
    }
    return shaped;
  };

  server.setRequestHandler('tasks/get', { params: taskIdParams }, async (params, ctx) => {
    if (!declaresExtension(server.getClientCapabilities())) throw needsExtension('tasks/get');
    owner = ownerOf(ctx);
    capabilities = server.getClientCapabilities() ?? {};
    const relayCtx = deps.relayContextOf(ctx);
    const entry = tasks.get(owner, params.taskId);
    if (entry.lost !== undefined) return lostTask(entry);
    if (deps.servesExtension(entry.backend)) return extension.get(entry, relayCtx);
    const task =
      entry.outcome && TERMINAL.has(String(entry.last['status']))
        ? { ...entry.last, taskId: entry.id }
        : await relay.handlers['tasks/get']!({ taskId: entry.id }, relayCtx);
    return detailed(entry, task, relayCtx);
  });

  server.setRequestHandler('tasks/cancel', { params: taskIdParams }, async (params, ctx) => {
    if (!declaresExtension(server.getClientCapabilities())) throw needsExtension('tasks/cancel');
    owner = ownerOf(ctx);
    const entry = tasks.get(owner, params.taskId);
    try {
      if (deps.servesExtension(entry.backend) && entry.lost === undefined)
        await extension.cancel(entry, deps.relayContextOf(ctx));
      else await relay.handlers['tasks/cancel']!({ taskId: params.taskId }, deps.relayContextOf(ctx));
    } catch (error) {
      // Cancelling a task that already ended is acknowledged like any other (SEP-2663): only an
      // unknown id is an error, and that was settled above.
      if (!(error instanceof ProtocolError) || error.code !== ProtocolErrorCode.InvalidParams) throw error;
    }
    pumps.get(entry)?.controller.abort(new Error('task cancelled'));
    return {};
  });

  server.setRequestHandler('tasks/update', { params: updateParams }, async (params, ctx) => {
    if (!declaresExtension(server.getClientCapabilities())) throw needsExtension('tasks/update');
    owner = ownerOf(ctx);
    const entry = tasks.get(owner, params.taskId);
    // The SDK lifts `inputResponses` off every 2026-07-28 request (the MRTR retry field) into the context.
    const responses = params.inputResponses ?? ctx.mcpReq.inputResponses;
    if (responses === undefined) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        'tasks/update: params.inputResponses is required',
      );
    }
    if (deps.servesExtension(entry.backend) && entry.lost === undefined) {
      await extension.update(entry, responses, deps.relayContextOf(ctx));
      return {};
    }
    const pump = pumps.get(entry);
    // Responses to keys never asked, or already answered, are ignored (as the extension says).
    for (const [key, response] of Object.entries(responses)) {
      const question = pump?.questions.get(key);
      if (!question) continue;
      pump?.questions.delete(key);
      question.resolve(response as Result);
    }
    return {};
  });

  return {
    enter(ctx) {
      owner = ownerOf(ctx);
    },
    callTool(backend, params, taskSupport, ctx) {
      const { task: hint, ...call } = params;
      // A backend serving the extension decides itself, from the caller's capabilities it is told.
      if (deps.servesExtension(backend)) {
        const taskOwner = owner;
        return deps
          .call(backend, 'tools/call', call, ctx)
          .then((r) => extension.created(taskOwner, backend, r));
      }
      // A 2025-style `task` hint never makes a task of a plain tool: the tool decides (SEP-2663).
      if (taskSupport !== 'required' && taskSupport !== 'optional') return undefined;
      if (!declaresExtension(server.getClientCapabilities())) {
        if (taskSupport === 'optional') return undefined;
        return Promise.reject(needsExtension('tools/call of a tool that runs only as a task'));
      }
      return (async () => {
        const task = typeof hint === 'object' && hint !== null ? hint : {};
        const created = await deps.call(backend, 'tools/call', { ...call, task }, ctx);
        const result = relay.created(backend, created) as { task?: Params };
        // A backend may answer a task-augmented call at once: that is the immediate-result shortcut.
        if (!result.task) return created;
        return { ...modernTask(result.task), resultType: 'task' };
      })();
    },
  };
}
