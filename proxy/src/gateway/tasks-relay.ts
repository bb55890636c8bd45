import type { Result } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { RelayContext, RelayHandler } from './fastpath.js';
import type { TaskEntry, TaskTable } from './tasks.js';
import { RELATED_TASK, TERMINAL, taskNotFound } from './tasks.js';

/**
 * The 2025-11-25 tasks utility, relayed for one client: a task-augmented request goes to its
 * backend as it came, and the backend's `CreateTaskResult` comes back under an id minted by the
 * proxy; `tasks/get`, `tasks/result` and `tasks/cancel` find the backend and its own id through
 * the caller's entry and are relayed raw, with the id rewritten both ways; `tasks/list` is
 * answered from the caller's entries (refreshed from their backends), never from a backend's
 * own list, which holds every client's tasks.
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
}

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
    const task = (await ask(entry, 'tasks/get', ctx)) as Params;
    entry.last = task;
    return presentTask(entry, task);
  };

  const handlers: Record<string, RelayHandler> = {
    'tasks/get': async (params, ctx) => refresh(tasks.get(deps.owner(), taskIdOf(params, 'tasks/get')), ctx),
    'tasks/result': async (params, ctx) => {
      const entry = tasks.get(deps.owner(), taskIdOf(params, 'tasks/result'));
      if (entry.lost !== undefined) throw lostError(entry);
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
      const task = (result as { task?: unknown }).task;
      if (typeof task !== 'object' || task === null || typeof (task as Params)['taskId'] !== 'string')
        return result;
      const entry = tasks.add(deps.owner(), backend, deps.connectionOf(backend), task as Params);
      return { ...result, task: presentTask(entry) };
    },
  };
}
