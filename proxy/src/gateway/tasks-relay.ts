import type { Result } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { RelayContext, RelayHandler } from './fastpath.js';
import type { TaskEntry, TaskTable } from './tasks.js';
import { RELATED_TASK, TERMINAL, taskNotFound } from './tasks.js';
import { createExtensionTasks, isTaskResult, legacyTask } from './tasks-extension.js';

/**
 * The 2025-11-25 tasks utility, relayed for one client: a task-augmented request goes to its
 * backend as it came, and the backend's `CreateTaskResult` comes back under an id minted by the
 * proxy; `tasks/get`, `tasks/result` and `tasks/cancel` find the backend and its own id through
 * the caller's entry and are relayed raw, with the id rewritten both ways; `tasks/list` is
 * answered from the caller's entries (refreshed from their backends), never from a backend's
 * own list, which holds every client's tasks.
 *
 * A backend that serves the 2026-07-28 tasks extension instead (tasks-extension.ts) is asked in
 * its own terms: its task is shown in the 2025 shape, `tasks/result` polls its `tasks/get` until
 * the task ends, asking the session what the task's `inputRequests` need and answering the
 * backend with `tasks/update`.
 */

type Params = Record<string, unknown>;

/** Tasks listed per page; each one is refreshed from its backend. */
export const TASK_PAGE_SIZE = 20;

export interface TaskRelayDeps {
  tasks: TaskTable;
  /** Whose tasks these are: a session id, or a principal for stateless clients. */
  owner: () => string;
  /** Relays one request to a backend by name (stats, tracking and error mapping included). */
  call: (backend: string, method: string, params: Params, ctx: RelayContext) => Promise<Result>;
  /** The backend's current connection, the one a new task lives on. */
  connectionOf: (backend: string) => object | undefined;
  /** Whether a backend serves the tasks extension itself (a modern backend that declared it). */
  servesExtension?: (backend: string) => boolean;
  /** Asks the session one of a task's inputRequests (2025-era sessions only). */
  askSession?: (
    backend: string,
    request: { method?: unknown; params?: unknown },
    signal: AbortSignal,
  ) => Promise<Result>;
}

/** Bounds on how often `tasks/result` polls a backend that serves the extension. */
const MIN_POLL_MS = 50;
const MAX_POLL_MS = 2_000;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    }
    signal.addEventListener('abort', abort, { once: true });
  });

export interface TaskRelay {
  /** The relay handlers for `tasks/*`. */
  handlers: Record<string, RelayHandler>;
  /** A backend's answer to a task-augmented request: its task is recorded and its id replaced. */
  created(backend: string, result: Result): Result;
}

/** The client's view of an entry's task: the proxy's id, and `failed` once its backend is gone. */
export function presentTask(entry: TaskEntry, task: Params = entry.last): Params {
  if (entry.lost !== undefined) {
    return { ...task, taskId: entry.id, status: 'failed', statusMessage: entry.lost };
  }
  return { ...task, taskId: entry.id };
}

function taskIdOf(params: Params, method: string): string {
  const id = params['taskId'];
  if (typeof id !== 'string') {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `${method}: params.taskId must be a string (the id the proxy returned), got ${JSON.stringify(id)}`,
    );
  }
  return id;
}

/** A message's `_meta` with its related-task id replaced by `id` (when it has one). */
export function withRelatedTask(result: Result, id: string): Result {
  const meta = result._meta as Record<string, unknown> | undefined;
  if (!meta || typeof meta[RELATED_TASK] !== 'object') return result;
  return { ...result, _meta: { ...meta, [RELATED_TASK]: { ...(meta[RELATED_TASK] as Params), taskId: id } } };
}

export function createTaskRelay(deps: TaskRelayDeps): TaskRelay {
  const { tasks } = deps;
  const extension = createExtensionTasks(deps);
  const ownsTasks = (entry: TaskEntry): boolean =>
    entry.lost === undefined && deps.servesExtension?.(entry.backend) === true;

  /** The extension's detailed task, kept in the 2025 shape (with the backend's id, as every entry is). */
  const detailedOf = async (entry: TaskEntry, ctx: RelayContext): Promise<Params> => {
    const detailed = await extension.get(entry, ctx);
    entry.last = { ...legacyTask(detailed), taskId: entry.backendTaskId };
    return detailed;
  };

  /** `tasks/result` of an extension task: the backend is polled until the task ends. */
  const outcomeOf = async (entry: TaskEntry, ctx: RelayContext): Promise<Result> => {
    for (;;) {
      const detailed = await detailedOf(entry, ctx);
      const status = detailed['status'];
      if (status === 'completed' && typeof detailed['result'] === 'object' && detailed['result'] !== null) {
        const result = detailed['result'] as Params;
        const meta = (result['_meta'] ?? {}) as Params;
        return { ...result, _meta: { ...meta, [RELATED_TASK]: { taskId: entry.id } } };
      }
      if (status === 'failed' || status === 'cancelled' || status === 'completed') {
        const error = (detailed['error'] ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
        throw new ProtocolError(
          typeof error.code === 'number' ? error.code : ProtocolErrorCode.InternalError,
          typeof error.message === 'string'
            ? error.message
            : `task ${JSON.stringify(entry.id)} is ${String(status)}`,
          { taskId: entry.id, ...(error.data !== undefined && { data: error.data }) },
        );
      }
      const inputRequests = detailed['inputRequests'];
      if (status === 'input_required' && typeof inputRequests === 'object' && inputRequests !== null) {
        const ask = deps.askSession;
        if (!ask)
          throw new ProtocolError(ProtocolErrorCode.InternalError, 'no client to ask for the task’s input');
        const answers = await Promise.all(
          Object.entries(inputRequests as Record<string, { method?: unknown; params?: Params }>).map(
            async ([key, request]) => {
              // The question names the task it is for, as a 2025-era backend's would.
              const params = {
                ...request.params,
                _meta: { ...(request.params?._meta as Params), [RELATED_TASK]: { taskId: entry.id } },
              };
              return [key, await ask(entry.backend, { method: request.method, params }, ctx.signal)] as const;
            },
          ),
        );
        await extension.update(entry, Object.fromEntries(answers), ctx);
        continue;
      }
      const every = Number(detailed['pollIntervalMs']);
      await sleep(
        Math.min(Math.max(Number.isFinite(every) ? every : 500, MIN_POLL_MS), MAX_POLL_MS),
        ctx.signal,
      );
    }
  };

  const lostError = (entry: TaskEntry): ProtocolError =>
    new ProtocolError(ProtocolErrorCode.InternalError, entry.lost ?? 'task lost', {
      backend: entry.backend,
      taskId: entry.id,
    });

  /** Asks the backend about its task; a backend that no longer knows it makes it "not found" here too. */
  const ask = async (
    entry: TaskEntry,
    method: string,
    ctx: RelayContext,
    extra: Params = {},
  ): Promise<Result> => {
    try {
      return await deps.call(entry.backend, method, { ...extra, taskId: entry.backendTaskId }, ctx);
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.code !== ProtocolErrorCode.InvalidParams) throw error;
      // A backend that no longer knows its task (expired, or never kept) makes it unknown here
      // too: the client hears what it hears for any id it does not own.
      if (method === 'tasks/get') {
        tasks.forget(entry);
        throw taskNotFound(entry.id);
      }
      // Anything else the backend refuses (cancelling a finished task…) is said with our id.
      throw new ProtocolError(error.code, error.message.replaceAll(entry.backendTaskId, entry.id), {
        taskId: entry.id,
      });
    }
  };

  const refresh = async (entry: TaskEntry, ctx: RelayContext): Promise<Params> => {
    if (entry.lost !== undefined) return presentTask(entry);
    if (ownsTasks(entry)) {
      await detailedOf(entry, ctx);
      return presentTask(entry);
    }
    const task = (await ask(entry, 'tasks/get', ctx)) as Params;
    entry.last = task;
    return presentTask(entry, task);
  };

  const handlers: Record<string, RelayHandler> = {
    'tasks/get': async (params, ctx) => refresh(tasks.get(deps.owner(), taskIdOf(params, 'tasks/get')), ctx),
    'tasks/result': async (params, ctx) => {
      const entry = tasks.get(deps.owner(), taskIdOf(params, 'tasks/result'));
      if (entry.lost !== undefined) throw lostError(entry);
      if (ownsTasks(entry)) return outcomeOf(entry, ctx);
      return withRelatedTask(await ask(entry, 'tasks/result', ctx), entry.id);
    },
    'tasks/cancel': async (params, ctx) => {
      const entry = tasks.get(deps.owner(), taskIdOf(params, 'tasks/cancel'));
      if (entry.lost !== undefined) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Cannot cancel task ${JSON.stringify(entry.id)}: it is already failed (${entry.lost})`,
        );
      }
      if (ownsTasks(entry)) {
        await extension.cancel(entry, ctx);
        return refresh(entry, ctx);
      }
      const task = (await ask(entry, 'tasks/cancel', ctx)) as Params;
      entry.last = task;
      return presentTask(entry, task);
    },
    'tasks/list': async (params, ctx) => {
      const cursor = params['cursor'];
      if (cursor !== undefined && typeof cursor !== 'string') {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `tasks/list: params.cursor must be a string, got ${JSON.stringify(cursor)}`,
        );
      }
      const page = tasks.page(deps.owner(), cursor, TASK_PAGE_SIZE);
      const listed = await Promise.all(
        page.entries.map(async (entry) => {
          // A terminal task does not change: its last state is its state.
          if (TERMINAL.has(String(entry.last['status']))) return presentTask(entry);
          try {
            return await refresh(entry, ctx);
          } catch (error) {
            if (error instanceof ProtocolError && error.message.startsWith('Task not found'))
              return undefined;
            return presentTask(entry);
          }
        }),
      );
      return {
        tasks: listed.filter((t): t is Params => t !== undefined),
        ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
      };
    },
  };

  return {
    handlers,
    created(backend, result) {
      if (deps.servesExtension?.(backend) && isTaskResult(result)) {
        const task = legacyTask(result);
        const entry = tasks.add(deps.owner(), backend, deps.connectionOf(backend), task);
        return { task: presentTask(entry) };
      }
      const task = (result as { task?: unknown }).task;
      if (typeof task !== 'object' || task === null || typeof (task as Params)['taskId'] !== 'string')
        return result;
      const entry = tasks.add(deps.owner(), backend, deps.connectionOf(backend), task as Params);
      return { ...result, task: presentTask(entry) };
    },
  };
}
