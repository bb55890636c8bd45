import type { Result } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { RelayContext } from './fastpath.js';
import type { TaskEntry, TaskTable } from './tasks.js';
import { taskNotFound } from './tasks.js';

/**
 * Tasks of a backend that serves the 2026-07-28 tasks extension itself (`io.modelcontextprotocol/tasks`
 * in its `server/discover` capabilities). The backend decides which calls become tasks and
 * answers `resultType: "task"`; the proxy records each under an id of its own, bound to the
 * calling client, and relays `tasks/get`, `tasks/update` and `tasks/cancel` raw with the
 * backend's id. 2026-07-28 clients read the backend's detailed task as it is (tasks-modern.ts);
 * 2025-era sessions get it in the 2025-11-25 shape (tasks-relay.ts).
 */

type Params = Record<string, unknown>;

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

export interface ExtensionTasksDeps {
  tasks: TaskTable;
  call: (backend: string, method: string, params: Params, ctx: RelayContext) => Promise<Result>;
  connectionOf: (backend: string) => object | undefined;
}

export interface ExtensionTasks {
  /** A backend's answer to `tools/call`: a task is recorded for `owner` and shown under the proxy's id. */
  created(owner: string, backend: string, result: Result): Result;
  /** The backend's detailed task (status, and `result`, `error` or `inputRequests`) under the proxy's id. */
  get(entry: TaskEntry, ctx: RelayContext): Promise<Params>;
  update(entry: TaskEntry, inputResponses: Record<string, unknown>, ctx: RelayContext): Promise<void>;
  cancel(entry: TaskEntry, ctx: RelayContext): Promise<void>;
}

/** Whether a backend's `server/discover` capabilities declare the tasks extension. */
export function servesTaskExtension(capabilities: unknown): boolean {
  const extensions = (capabilities as { extensions?: Record<string, unknown> } | undefined)?.extensions;
  return typeof extensions?.[TASKS_EXTENSION] === 'object' && extensions[TASKS_EXTENSION] !== null;
}

export function isTaskResult(result: Result): result is Result & { taskId: string } {
  return (result as Params)['resultType'] === 'task' && typeof (result as Params)['taskId'] === 'string';
}

/** A detailed task (extension shape) as a 2025-11-25 `Task`: `ttl`, `pollInterval`, no outcome inline. */
export function legacyTask(task: Params): Params {
  const {
    ttlMs,
    pollIntervalMs,
    result: _result,
    error: _error,
    inputRequests: _inputs,
    resultType: _type,
    content: _content,
    _meta: _m,
    ...rest
  } = task;
  return {
    ...rest,
    ttl: typeof ttlMs === 'number' ? ttlMs : null,
    ...(typeof pollIntervalMs === 'number' && { pollInterval: pollIntervalMs }),
    createdAt: typeof rest['createdAt'] === 'string' ? rest['createdAt'] : new Date().toISOString(),
    lastUpdatedAt:
      typeof rest['lastUpdatedAt'] === 'string' ? rest['lastUpdatedAt'] : new Date().toISOString(),
  };
}

export function createExtensionTasks(deps: ExtensionTasksDeps): ExtensionTasks {
  const { tasks } = deps;

  const ask = async (entry: TaskEntry, method: string, ctx: RelayContext, extra: Params = {}) => {
    try {
      return await deps.call(entry.backend, method, { ...extra, taskId: entry.backendTaskId }, ctx);
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.code !== ProtocolErrorCode.InvalidParams) throw error;
      // The backend no longer knows its task: neither does the proxy, and the client hears what
      // it hears for any id it does not own. Its other refusals are said with the proxy's id.
      if (method === 'tasks/get') {
        tasks.forget(entry);
        throw taskNotFound(entry.id);
      }
      throw new ProtocolError(error.code, error.message.replaceAll(entry.backendTaskId, entry.id), {
        taskId: entry.id,
      });
    }
  };

  return {
    created(owner, backend, result) {
      if (!isTaskResult(result)) return result;
      const { taskId, ttlMs, status } = result as Params;
      const entry = tasks.add(owner, backend, deps.connectionOf(backend), {
        taskId,
        status,
        ...(typeof ttlMs === 'number' && { ttl: ttlMs }),
      });
      return { ...result, taskId: entry.id };
    },
    async get(entry, ctx) {
      const task = (await ask(entry, 'tasks/get', ctx)) as Params;
      entry.last = { ...entry.last, status: task['status'] };
      const { resultType: _type, _meta: _meta, ...rest } = task;
      return { ...rest, taskId: entry.id };
    },
    async update(entry, inputResponses, ctx) {
      await ask(entry, 'tasks/update', ctx, { inputResponses });
    },
    async cancel(entry, ctx) {
      await ask(entry, 'tasks/cancel', ctx);
    },
  };
}
