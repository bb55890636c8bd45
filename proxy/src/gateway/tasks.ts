import { randomBytes } from 'node:crypto';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Caller } from './sessions.js';

/**
 * The proxy's map of tasks (MCP tasks utility). A backend names its tasks with its own ids,
 * unique only on its connection and often guessable; clients only ever see ids minted here
 * (128 random bits), each bound to the backend, the backend's id and the task's owner (a
 * 2025-era session, or an OAuth principal for stateless 2026-07-28 clients). Every lookup goes
 * through the owner, so another client's id answers exactly like one that never existed.
 * Entries end with their ttl (capped, so an unlimited task cannot pin memory), with the
 * session that owns them, or when an owner has too many (the oldest go first). A task whose
 * backend connection is lost stays visible as failed until its ttl: the backend's task store
 * went with the connection.
 */

/** Task statuses after which nothing changes. */
export const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** The metadata key that ties a message to a task (2025-11-25). */
export const RELATED_TASK = 'io.modelcontextprotocol/related-task';

export interface TaskEntry {
  /** The id the client sees. */
  readonly id: string;
  /** Creation order, for paging. */
  readonly seq: number;
  readonly owner: string;
  readonly backend: string;
  readonly backendTaskId: string;
  /** The backend connection the task lives on: another connection does not know it. */
  readonly connection: object | undefined;
  readonly expiresAt: number;
  /** The task as last seen, in the backend's 2025-11-25 form and with the backend's id. */
  last: Record<string, unknown>;
  /** Why the task cannot be reached any more (its backend's connection was lost). */
  lost: string | undefined;
  /**
   * For 2026-07-28 clients: who answers the backend's requests tied to this task while the
   * proxy waits on its `tasks/result` (tasks-modern.ts).
   */
  answerer?: Caller;
  /** For 2026-07-28 clients: the final outcome once fetched, so polls do not ask the backend again. */
  outcome?:
    { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };
}

export interface TaskTableOptions {
  /** Upper bound on any task's life in the map, whatever ttl the backend granted. */
  maxTtlMs: number;
  /** Tasks one owner may hold; past it the oldest are forgotten. */
  maxPerOwner: number;
  now?: () => number;
}

export interface TaskPage {
  entries: TaskEntry[];
  nextCursor: string | undefined;
}

export interface TaskTable {
  /** Records a task a backend created for `owner`; returns its entry with the client-facing id. */
  add(
    owner: string,
    backend: string,
    connection: object | undefined,
    task: Record<string, unknown>,
  ): TaskEntry;
  /** The owner's task `id`; any other (foreign, expired, never issued) is "not found". */
  get(owner: string, id: string): TaskEntry;
  /** The owner's tasks, oldest first, `size` at a time; the cursor is opaque to clients. */
  page(owner: string, cursor: string | undefined, size: number): TaskPage;
  /** The entry for a backend's own task id (status notifications name tasks that way). */
  fromBackend(backend: string, backendTaskId: string): TaskEntry | undefined;
  forget(entry: TaskEntry): void;
  /**
   * Marks lost every task whose backend is no longer on the connection the task lives on
   * (a crash, a reconnect, a removal); `stateOf` says where each backend stands now.
   */
  markLost(stateOf: (backend: string) => { connection: object } | { reason: string }): void;
  dropOwner(owner: string): void;
  readonly size: number;
}

export function taskNotFound(id: unknown): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Task not found: ${JSON.stringify(id)}`, {
    taskId: id,
  });
}

export function createTaskTable(options: TaskTableOptions): TaskTable {
  const now = options.now ?? Date.now;
  const byId = new Map<string, TaskEntry>();
  /** Per owner, its ids in creation order (Map keeps insertion order). */
  const byOwner = new Map<string, Map<string, TaskEntry>>();
  const byBackend = new Map<string, TaskEntry>();
  let sequence = 0;
  const backendKey = (backend: string, id: string): string => JSON.stringify([backend, id]);

  const forget = (entry: TaskEntry): void => {
    byId.delete(entry.id);
    byBackend.delete(backendKey(entry.backend, entry.backendTaskId));
    const owned = byOwner.get(entry.owner);
    owned?.delete(entry.id);
    if (owned?.size === 0) byOwner.delete(entry.owner);
  };

  const live = (entry: TaskEntry | undefined): TaskEntry | undefined => {
    if (!entry) return undefined;
    if (entry.expiresAt > now()) return entry;
    forget(entry);
    return undefined;
  };

  // Expired entries are dropped when touched and by this sweep, so untouched ones go too.
  const sweep = setInterval(() => {
    for (const entry of byId.values()) live(entry);
  }, 60_000);
  sweep.unref();

  return {
    add(owner, backend, connection, task) {
      const backendTaskId = String(task['taskId']);
      const ttl = typeof task['ttl'] === 'number' && task['ttl'] >= 0 ? task['ttl'] : options.maxTtlMs;
      const entry: TaskEntry = {
        id: randomBytes(16).toString('base64url'),
        seq: ++sequence,
        owner,
        backend,
        backendTaskId,
        connection,
        expiresAt: now() + Math.min(ttl, options.maxTtlMs),
        last: task,
        lost: undefined,
      };
      byId.set(entry.id, entry);
      byBackend.set(backendKey(backend, backendTaskId), entry);
      const owned = byOwner.get(owner) ?? new Map<string, TaskEntry>();
      byOwner.set(owner, owned);
      owned.set(entry.id, entry);
      while (owned.size > options.maxPerOwner) {
        const oldest = owned.values().next().value;
        if (!oldest) break;
        forget(oldest);
      }
      return entry;
    },
    get(owner, id) {
      const entry = live(byId.get(id));
      if (!entry || entry.owner !== owner) throw taskNotFound(id);
      return entry;
    },
    page(owner, cursor, size) {
      // The cursor is the creation sequence of the previous page's last task: stable while
      // tasks come and go, and meaningless across owners.
      const after = cursor === undefined ? 0 : Number(cursor);
      if (cursor !== undefined && !(/^\d{1,15}$/.test(cursor) && Number.isSafeInteger(after))) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `tasks/list: params.cursor ${JSON.stringify(cursor)} was not issued by this proxy`,
        );
      }
      const owned = [...(byOwner.get(owner)?.values() ?? [])].filter((e) => live(e) && e.seq > after);
      const entries = owned.slice(0, size);
      const last = entries.at(-1);
      return { entries, nextCursor: owned.length > size && last ? String(last.seq) : undefined };
    },
    fromBackend(backend, backendTaskId) {
      return live(byBackend.get(backendKey(backend, backendTaskId)));
    },
    forget,
    markLost(stateOf) {
      for (const entry of byId.values()) {
        if (entry.lost !== undefined || entry.outcome !== undefined) continue;
        const state = stateOf(entry.backend);
        if ('connection' in state && state.connection === entry.connection) continue;
        entry.lost =
          'reason' in state ? state.reason : `backend "${entry.backend}" reconnected; its tasks were lost`;
      }
    },
    dropOwner(owner) {
      for (const entry of [...(byOwner.get(owner)?.values() ?? [])]) forget(entry);
    },
    get size() {
      return byId.size;
    },
  };
}
