import type {
  CreateMessageRequest,
  CreateMessageResult,
  ElicitResult,
  ElicitRequest,
  ListRootsResult,
} from '@modelcontextprotocol/client';
import type { Implementation, ServerNotifier } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog/catalog.js';
import { routeResource } from '../catalog/catalog.js';
import type { CatalogStore, ClientEra } from '../catalog/store.js';
import type { Views } from '../catalog/view.js';
import { viewIncludesBackend } from '../catalog/view.js';
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
export const DEFAULT_INPUT_TIMEOUT_MS = 120_000;
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
  /** How long an input_required round waits for the client's retry (default 120 s). */
  inputTimeoutMs?: number;
}

/**
 * The MCP server face of the proxy. It builds one low-level `Server` per client session
 * (or per request for stateless 2026-era clients), all reading the one shared catalog,
 * and relays what backends push to the sessions it belongs to.
 */
export interface Gateway {
  /** A fresh server for one 2026-era request: it serves statelessly and gets no pushes. */
  createStatelessServer(view?: string): Server;
  /**
   * The one long-lived stateless server the HTTP front door answers relayed 2026-07-28 calls
   * with, without a `Server` per request (its `Server` is never connected, so it holds nothing
   * per request: the per-request state lives in each call's closure and the input bridge).
   * One per virtual server, so a view's direct answers see only its selection.
   */
  statelessRelay(view?: string): SessionServer;
  /** Who the proxy says it is to clients (every server it builds carries it). */
  readonly serverInfo: Implementation;
  /**
   * A fresh server for one session, with the relay handlers its front door serves around it:
   * connect the server to `withFastPath(transport, relayedFor)` (see fastpath.ts).
   */
  createSession(kind: Exclude<SessionKind, 'stateless'>, view?: string): SessionServer;
  /** Hooks the registry gives each backend: pushes and requests from backends land here. */
  readonly backendHooks: Omit<BackendHooks, 'changed'>;
  /**
   * Where stateless (2026-era) subscription streams are fed from; returns the way to detach it.
   * With `view`, the streams hear only of changes to what that virtual server shows.
   */
  addNotifier(notifier: ServerNotifier, view?: string): () => void;
  /** Holds backend subscriptions for the URIs a `subscriptions/listen` stream asked for; returns the release. */
  watchResources(uris: readonly string[]): () => void;
  attach(registry: Registry, catalog: CatalogStore, views?: Views): void;
  /** The virtual servers some session or stream is looking through now (change detection watches these). */
  watchedViews(): Set<string>;
  sessionCount(): number;
}

export function createGateway(options: GatewayOptions): Gateway {
  const sessions = new SessionTable();
  /** Each stateless handler's notifier, with the virtual server it serves (undefined = the whole catalog). */
  const notifiers = new Map<ServerNotifier, string | undefined>();
  const bridge = createInputBridge({
    ttlMs: options.inputTimeoutMs ?? DEFAULT_INPUT_TIMEOUT_MS,
    maxOpen: MAX_CONTINUATIONS,
  });
  const tasks = createTaskTable({ maxTtlMs: MAX_TASK_TTL_MS, maxPerOwner: MAX_TASKS_PER_OWNER });
  const log = options.log;
  const taskStatus = watchTaskStatus({ tasks, sessions, log });
  let registry: Registry | undefined;
  let catalog: CatalogStore | undefined;
  let views: Views | undefined;
  /** Whether a client of `view` may hear of `backend` at all (its log lines, its resources). */
  const sees = (view: string | undefined, backend: string): boolean =>
    view === undefined || viewIncludesBackend(views?.spec(view), backend);

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

  /**
   * The session or caller a backend's request goes to (see `SessionTable.answererFor`); when
   * there is none, or the proxy cannot tell which, the backend gets an error saying so.
   */
  const answerer = (
    backend: Backend,
    method: string,
    origin: object | undefined,
  ): Session | Caller | undefined => {
    const found = sessions.answererFor(backend.name, origin);
    if ('to' in found) return found.to;
    if ('none' in found) return undefined;
    const why =
      'gone' in found
        ? 'the client whose call it came with has gone'
        : `cannot tell which client it is for: ${found.ambiguous} sessions have calls in flight to "${backend.name}"`;
    log.warn('backend request refused', {
      [Field.backend]: backend.name,
      [Field.method]: method,
      [Field.error]: why,
    });
    throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `multi-mcp: ${method} refused: ${why}`);
  };

  const waitingSession = (backend: Backend, method: string, origin: object | undefined): Session | Caller => {
    const session = answerer(backend, method, origin);
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
        for (const [notifier, view] of notifiers) {
          if (view === undefined || (views && routeResource(views.select(view), uri)))
            notifier.resourceUpdated(uri);
        }
        return;
      }
      const params = notification.params;
      const logger = params.logger ? `${backend.name}/${params.logger}` : backend.name;
      pushToSessions(
        (s) => s.server.sendLoggingMessage({ ...params, logger }),
        (s) => levelAllows(s.logLevel, params.level) && sees(s.view, backend.name),
      );
    },
    announced(backend, kind) {
      // Only clients whose view shows the backend: a change of a hidden server is none of theirs.
      const shown = (s: Session): boolean => sees(s.view, backend.name);
      if (kind === 'tools') pushToSessions((s) => s.server.sendToolListChanged(), shown);
      if (kind === 'prompts') pushToSessions((s) => s.server.sendPromptListChanged(), shown);
      if (kind === 'resources') pushToSessions((s) => s.server.sendResourceListChanged(), shown);
      for (const [notifier, view] of notifiers) {
        if (!sees(view, backend.name)) continue;
        if (kind === 'tools') notifier.toolsChanged();
        if (kind === 'prompts') notifier.promptsChanged();
        if (kind === 'resources') notifier.resourcesChanged();
      }
    },
    async createMessage(backend, request: CreateMessageRequest, origin) {
      const session =
        taskStatus.answererFor(backend.name, request.params) ??
        waitingSession(backend, request.method, origin);
      const params = taskStatus.relatedTask(backend.name, request.params);
      if ('ask' in session) return session.ask(request.method, params) as Promise<CreateMessageResult>;
      return session.server.createMessage(params);
    },
    async elicit(backend, request: ElicitRequest, origin) {
      const session =
        taskStatus.answererFor(backend.name, request.params) ??
        waitingSession(backend, request.method, origin);
      const params = taskStatus.relatedTask(backend.name, request.params);
      if ('ask' in session) return session.ask(request.method, params) as Promise<ElicitResult>;
      return session.server.elicitInput(params);
    },
    async listRoots(backend, origin): Promise<ListRootsResult> {
      // Many backends ask right after connecting, before any call: the only client's roots
      // answer that when there is one; with several clients and no call the answer is empty.
      // …unless that client's virtual server does not show this backend: its roots are not this backend's business.
      const sole = sessions.sole();
      const session =
        answerer(backend, 'roots/list', origin) ?? (sole && sees(sole.view, backend.name) ? sole : undefined);
      if (session && 'ask' in session) return session.ask('roots/list', {}) as Promise<ListRootsResult>;
      if (!session?.server.getClientCapabilities()?.roots) return { roots: [] };
      return session.server.listRoots();
    },
  };

  const build = (kind: SessionKind, viewName?: string): SessionServer => {
    if (!registry || !catalog) throw new Error('gateway used before attach()');
    if (viewName !== undefined && !views) throw new Error('virtual servers used without views');
    const selected = views;
    if (viewName !== undefined && kind !== 'stateless') selected?.track(viewName);
    return createSessionServer({
      ...(viewName !== undefined &&
        selected && {
          view: {
            name: viewName,
            select: (era: ClientEra) => selected.select(viewName, era),
            narrow: (own: Catalog) => selected.narrow(viewName, own),
          },
        }),
      kind,
      ...(kind === 'stateless' && { bridge }),
      registry,
      catalog,
      sessions,
      serverInfo: options.serverInfo,
      instructions: options.instructions,
      ready: options.ready,
      settled: () => settled,
      log,
      stats: options.stats,
      tasks,
    });
  };

  // Keyed by virtual server name (undefined: the whole catalog). A removed view's relay stays,
  // serving an empty selection: as many entries as names ever served, no more.
  let settled = false;
  void options.ready.then(() => (settled = true));
  const statelessRelays = new Map<string | undefined, SessionServer>();

  return {
    backendHooks,
    createStatelessServer: (view) => build('stateless', view).server,
    statelessRelay(view) {
      let relay = statelessRelays.get(view);
      if (!relay) statelessRelays.set(view, (relay = build('stateless', view)));
      return relay;
    },
    serverInfo: options.serverInfo,
    createSession: build,
    addNotifier(notifier, view) {
      notifiers.set(notifier, view);
      if (view !== undefined) views?.track(view);
      return () => notifiers.delete(notifier);
    },
    watchedViews() {
      const names = new Set<string>();
      for (const session of sessions.all()) if (session.view !== undefined) names.add(session.view);
      for (const view of notifiers.values()) if (view !== undefined) names.add(view);
      return names;
    },
    watchResources(uris) {
      if (!registry || !catalog) throw new Error('gateway used before attach()');
      return watchResources({ registry, catalog, sessions, log }, uris);
    },
    attach(r, c, v) {
      registry = r;
      catalog = c;
      views = v;
      // createProxy builds the catalog (and its registry listener) before attaching, so this runs after it.
      resubscribeOnReconnect({ registry: r, catalog: c, sessions, log });
      taskStatus.watchBackends(r);
      // The whole catalog's clients hear of every change; a virtual server's only of changes to its view.
      const announce = (
        change: { tools: boolean; prompts: boolean; resources: boolean },
        view: string | undefined,
      ): void => {
        const ofView = (s: Session): boolean => s.view === view;
        if (change.tools) pushToSessions((s) => s.server.sendToolListChanged(), ofView);
        if (change.prompts) pushToSessions((s) => s.server.sendPromptListChanged(), ofView);
        if (change.resources) pushToSessions((s) => s.server.sendResourceListChanged(), ofView);
        for (const [notifier, served] of notifiers) {
          if (served !== view) continue;
          if (change.tools) notifier.toolsChanged();
          if (change.prompts) notifier.promptsChanged();
          if (change.resources) notifier.resourcesChanged();
        }
      };
      c.onChange((change) => announce(change, undefined));
      v?.onChange((change) => announce(change, change.view));
    },
    sessionCount: () => sessions.size,
  };
}
