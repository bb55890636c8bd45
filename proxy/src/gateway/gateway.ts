import type {
  CreateMessageRequest,
  CreateMessageResult,
  ElicitResult,
  ElicitRequest,
  ListRootsResult,
} from '@modelcontextprotocol/client';
import type { Implementation, ServerNotifier } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { CatalogStore } from '../catalog/store.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { Backend, BackendHooks, BackendNotification } from '../registry/backend.js';
import type { Registry } from '../registry/registry.js';
import type { SessionServer } from './handlers.js';
import { resubscribeOnReconnect } from './resubscribe.js';
import type { RelayStats } from './relay-stats.js';
import { watchResources } from './subscriptions.js';
import { createInputBridge } from './bridge.js';
import { createTaskTable } from './tasks.js';
import { watchTaskStatus } from './tasks-status.js';

/** How long a 2026-07-28 client has to answer an input_required round before the backend's call is cancelled. */
const CONTINUATION_TTL_MS = 120_000;
/** Each waiting continuation holds a backend call open: bounded like sessions are. */
const MAX_CONTINUATIONS = 1000;
/** However long a backend keeps a task, the proxy forgets its id after this. */
const MAX_TASK_TTL_MS = 24 * 60 * 60 * 1000;
/** Tasks one client (session or principal) may hold in the proxy's map. */
const MAX_TASKS_PER_OWNER = 1000;
import { createSessionServer } from './handlers.js';
import type { Caller, Session, SessionKind } from './sessions.js';
import { SessionTable, levelAllows } from './sessions.js';
import type { Server } from '@modelcontextprotocol/server';

export interface GatewayOptions {
  serverInfo: Implementation;
  instructions?: string;
  log: Logger;
  /** Resolves once the startup backends have settled; list requests wait for it (bounded). */
  ready: Promise<void>;
  /** Where every relayed request is counted (read by the metrics endpoint). */
  stats: RelayStats;
}

/**
 * The MCP server face of the proxy. It builds one low-level `Server` per client session
 * (or per request for stateless 2026-era clients), all reading the one shared catalog,
 * and relays what backends push to the sessions it belongs to.
 */
export interface Gateway {
  /** A fresh server for one 2026-era request: it serves statelessly and gets no pushes. */
  createStatelessServer(): Server;
  /**
   * A fresh server for one session, with the relay handlers its front door serves around it:
   * connect the server to `withFastPath(transport, relayedFor)` (see fastpath.ts).
   */
  createSession(kind: Exclude<SessionKind, 'stateless'>): SessionServer;
  /** Hooks the registry gives each backend: pushes and requests from backends land here. */
  readonly backendHooks: Omit<BackendHooks, 'changed'>;
  /** Where stateless (2026-era) subscription streams are fed from; returns the way to detach it. */
  addNotifier(notifier: ServerNotifier): () => void;
  /** Holds backend subscriptions for the URIs a `subscriptions/listen` stream asked for; returns the release. */
  watchResources(uris: readonly string[]): () => void;
  attach(registry: Registry, catalog: CatalogStore): void;
  sessionCount(): number;
}

export function createGateway(options: GatewayOptions): Gateway {
  const sessions = new SessionTable();
  const notifiers = new Set<ServerNotifier>();
  const bridge = createInputBridge({ ttlMs: CONTINUATION_TTL_MS, maxOpen: MAX_CONTINUATIONS });
  const tasks = createTaskTable({ maxTtlMs: MAX_TASK_TTL_MS, maxPerOwner: MAX_TASKS_PER_OWNER });
  const log = options.log;
  const taskStatus = watchTaskStatus({ tasks, sessions, log });
  let registry: Registry | undefined;
  let catalog: CatalogStore | undefined;

  const pushToSessions = (
    send: (session: Session) => Promise<void>,
    filter?: (s: Session) => boolean,
  ): void => {
    for (const session of sessions.all()) {
      if (filter && !filter(session)) continue;
      send(session).catch((error: unknown) =>
        log.debug('push to session failed', {
          [Field.session]: session.id,
          [Field.error]: errorMessage(error),
        }),
      );
    }
  };

  const waitingSession = (backend: Backend, method: string): Session | Caller => {
    const session = sessions.waitingOn(backend.name);
    if (!session) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidRequest,
        `multi-mcp: ${method} from backend "${backend.name}" has no client call in flight to answer it`,
      );
    }
    return session;
  };

  const backendHooks: Omit<BackendHooks, 'changed'> = {
    notification(backend, notification: BackendNotification) {
      if (notification.method === 'notifications/tasks/status') {
        taskStatus.relay(backend.name, notification.params);
        return;
      }
      if (notification.method === 'notifications/resources/updated') {
        const uri = notification.params.uri;
        pushToSessions(
          (s) => s.server.sendResourceUpdated({ uri }),
          (s) => s.subscriptions.has(uri),
        );
        for (const notifier of notifiers) notifier.resourceUpdated(uri);
        return;
      }
      const params = notification.params;
      const logger = params.logger ? `${backend.name}/${params.logger}` : backend.name;
      pushToSessions(
        (s) => s.server.sendLoggingMessage({ ...params, logger }),
        (s) => levelAllows(s.logLevel, params.level),
      );
    },
    async createMessage(backend, request: CreateMessageRequest) {
      const session =
        taskStatus.answererFor(backend.name, request.params) ?? waitingSession(backend, request.method);
      const params = taskStatus.relatedTask(backend.name, request.params);
      if ('ask' in session) return session.ask(request.method, params) as Promise<CreateMessageResult>;
      return session.server.createMessage(params);
    },
    async elicit(backend, request: ElicitRequest) {
      const session =
        taskStatus.answererFor(backend.name, request.params) ?? waitingSession(backend, request.method);
      const params = taskStatus.relatedTask(backend.name, request.params);
      if ('ask' in session) return session.ask(request.method, params) as Promise<ElicitResult>;
      return session.server.elicitInput(params);
    },
    async listRoots(backend): Promise<ListRootsResult> {
      // Many backends ask right after connecting, before any call: the only client's roots
      // answer that when there is one; with several clients and no call the answer is empty.
      const session = sessions.waitingOn(backend.name) ?? sessions.sole();
      if (session && 'ask' in session) return session.ask('roots/list', {}) as Promise<ListRootsResult>;
      if (!session?.server.getClientCapabilities()?.roots) return { roots: [] };
      return session.server.listRoots();
    },
  };

  const build = (kind: SessionKind): SessionServer => {
    if (!registry || !catalog) throw new Error('gateway used before attach()');
    return createSessionServer({
      kind,
      ...(kind === 'stateless' && { bridge }),
      registry,
      catalog,
      sessions,
      serverInfo: options.serverInfo,
      instructions: options.instructions,
      ready: options.ready,
      log,
      stats: options.stats,
      tasks,
    });
  };

  return {
    backendHooks,
    createStatelessServer: () => build('stateless').server,
    createSession: build,
    addNotifier(notifier) {
      notifiers.add(notifier);
      return () => notifiers.delete(notifier);
    },
    watchResources(uris) {
      if (!registry || !catalog) throw new Error('gateway used before attach()');
      return watchResources({ registry, catalog, sessions, log }, uris);
    },
    attach(r, c) {
      registry = r;
      catalog = c;
      // createProxy builds the catalog (and its registry listener) before attaching, so this runs after it.
      resubscribeOnReconnect({ registry: r, catalog: c, sessions, log });
      taskStatus.watchBackends(r);
      c.onChange((change) => {
        if (change.tools) pushToSessions((s) => s.server.sendToolListChanged());
        if (change.prompts) pushToSessions((s) => s.server.sendPromptListChanged());
        if (change.resources) pushToSessions((s) => s.server.sendResourceListChanged());
        for (const notifier of notifiers) {
          if (change.tools) notifier.toolsChanged();
          if (change.prompts) notifier.promptsChanged();
          if (change.resources) notifier.resourcesChanged();
        }
      });
    },
    sessionCount: () => sessions.size,
  };
}
