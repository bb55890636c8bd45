import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { Caller, Session, SessionTable } from './sessions.js';
import type { TaskTable } from './tasks.js';
import { RELATED_TASK } from './tasks.js';
import { presentTask } from './tasks-relay.js';

/**
 * What backends say about their tasks outside a request: status notifications go to the one
 * session that owns the task, under its id; a backend's request tied to a task (an elicitation
 * during `tasks/result`) names the proxy's id; and a backend that loses its connection, or is
 * removed, takes its tasks with it — they turn `failed`.
 */

type Params = Record<string, unknown>;

export interface TaskStatusDeps {
  tasks: TaskTable;
  sessions: SessionTable;
  log: Logger;
}

export interface TaskStatus {
  relay(backend: string, params: Params): void;
  /** `params` with a related-task id of `backend`'s replaced by the proxy's (unknown ones are dropped). */
  relatedTask<P extends object>(backend: string, params: P): P;
  /**
   * Who must answer a backend's request that names one of its tasks: the session that owns it,
   * or the 2026-07-28 task poller waiting on it. Better than guessing from calls in flight.
   */
  answererFor(backend: string, params: object): Session | Caller | undefined;
  watchBackends(registry: Registry): () => void;
}

export function watchTaskStatus(deps: TaskStatusDeps): TaskStatus {
  const { tasks, sessions, log } = deps;

  return {
    relay(backend, params) {
      const entry =
        typeof params['taskId'] === 'string' ? tasks.fromBackend(backend, params['taskId']) : undefined;
      // A task of no client the proxy knows (created before a restart, or by a stateless
      // client that polls): nobody to tell.
      if (!entry) return;
      entry.last = { ...entry.last, ...params };
      const session = sessions.all().find((s) => s.id === entry.owner);
      if (!session) return;
      session.server
        .notification({ method: 'notifications/tasks/status', params: presentTask(entry) })
        .catch((error: unknown) =>
          log.debug('task status to session failed', {
            [Field.session]: session.id,
            [Field.error]: errorMessage(error),
          }),
        );
    },
    relatedTask(backend, params) {
      const meta = (params as { _meta?: Params })._meta;
      const related = meta?.[RELATED_TASK] as Params | undefined;
      if (typeof related?.['taskId'] !== 'string') return params;
      const entry = tasks.fromBackend(backend, related['taskId']);
      const { [RELATED_TASK]: _backendId, ...rest } = meta ?? {};
      return {
        ...params,
        _meta: entry ? { ...rest, [RELATED_TASK]: { ...related, taskId: entry.id } } : rest,
      };
    },
    answererFor(backend, params) {
      const related = (params as { _meta?: Params })._meta?.[RELATED_TASK] as Params | undefined;
      const id = related?.['taskId'];
      const entry = typeof id === 'string' ? tasks.fromBackend(backend, id) : undefined;
      if (!entry) return undefined;
      return entry.answerer ?? sessions.all().find((s) => s.id === entry.owner);
    },
    watchBackends(registry) {
      return registry.onChange(() =>
        tasks.markLost((name) => {
          const backend = registry.get(name);
          if (backend?.state === 'ready') return { connection: backend.connection() };
          if (!backend) return { reason: `backend "${name}" was removed` };
          const why = backend.error ? `: ${backend.error}` : '';
          return {
            reason: `backend "${name}" is ${backend.state}${why}; the task was lost with its connection`,
          };
        }),
      );
    },
  };
}
