import type { Progress } from '@modelcontextprotocol/client';
import type {
  ClientCapabilities,
  Implementation,
  LoggingLevel,
  Result,
  ServerContext,
} from '@modelcontextprotocol/server';
import { LOG_LEVEL_META_KEY, ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog/catalog.js';
import { routeResource } from '../catalog/catalog.js';
import type { CatalogStore, ClientEra } from '../catalog/store.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { Backend, BackendLists } from '../registry/backend.js';
import type { CallerEnvelope } from '../registry/era.js';
import type { ParamHeader } from '../registry/param-headers.js';
import { sentParamHeaders } from '../registry/param-headers.js';
import type { Registry } from '../registry/registry.js';
import { toClientError, unknownName, withheldTool } from './errors.js';
import type { RelayContext, RelayHandler } from './fastpath.js';
import type { RelayStats } from './relay-stats.js';
import { failureOutcome, outcomeOf } from './relay-stats.js';
import type { Caller, Session, SessionKind, SessionTable } from './sessions.js';
import { tracked } from './sessions.js';
import { unsubscribeBackendIfUnused } from './subscriptions.js';
import type { InputBridge } from './bridge.js';
import { MRTR_METHODS } from './bridge.js';
import { askSession, fulfilInputRounds, isInputRequired } from './input-rounds.js';
import type { TaskTable } from './tasks.js';
import { createTaskRelay } from './tasks-relay.js';
import { TASKS_EXTENSION, servesTaskExtension } from './tasks-extension.js';
import { MODERN_TASKS_CAPABILITY, registerModernTasks } from './tasks-modern.js';

export interface SessionServerDeps {
  kind: SessionKind;
  registry: Registry;
  catalog: CatalogStore;
  sessions: SessionTable;
  serverInfo: Implementation;
  instructions: string | undefined;
  ready: Promise<void>;
  /** Whether `ready` has resolved, for decisions that cannot wait for it. */
  settled: () => boolean;
  log: Logger;
  stats: RelayStats;
  /** For 2026-07-28 calls: backend requests become input_required rounds (bridge.ts). */
  bridge?: InputBridge;
  /** A virtual server's selection: lists come from it and calls route through it (catalog/view.ts). */
  view?: {
    name: string;
    select: (era: ClientEra) => Catalog;
    /** The view's selection of a catalog built for this client (its private lists). */
    narrow: (catalog: Catalog) => Catalog;
  };
  /** The proxy's task ids and who owns them (tasks.ts). */
  tasks: TaskTable;
}

/** What the proxy serves of the 2025-11-25 tasks utility, whichever backends support it (see tasks-relay.ts). */
const SESSION_TASKS_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

type Params = Record<string, unknown>;

function invalidParams(method: string, field: string): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    `${method}: params.${field} is missing or invalid`,
  );
}

function stringParam(params: Params, field: string, method: string): string {
  const value = params[field];
  if (typeof value !== 'string') throw invalidParams(method, field);
  return value;
}

/** A session's server, and the relay handlers its front door may call around it (see fastpath.ts). */
export interface SessionServer {
  server: Server;
  relayedFor: (method: string) => RelayHandler | undefined;
  /**
   * Serves one relayed 2026-07-28 call as the `Server` would (MRTR methods through the input
   * bridge), for a front door that answers it without one; undefined for other methods and for
   * calls only the `Server` can serve (a tool that may run as a task).
   */
  relayModern: (method: string, call: ModernCall, ctx: RelayContext) => Promise<Result> | undefined;
  /**
   * The catalog this client's lists come from when they need nothing of the client itself (the
   * startup backends settled, no backend's lists are private to each client): a front door may
   * write a whole-list answer from it (its cached JSON, see catalog/serialized.ts). Undefined
   * otherwise: the `Server`'s list handlers answer.
   */
  sharedCatalog: () => Catalog | undefined;
  /**
   * The `x-mcp-header` declarations of a tool this client is listed (by exposed name), which a
   * 2026-07-28 call's `Mcp-Param-*` headers must agree with; undefined when it declares none.
   */
  paramHeadersOf: (name: string) => readonly ParamHeader[] | undefined;
}

/** A 2026-07-28 request's params as the SDK lifts them: envelope keys and retry fields apart. */
export interface ModernCall {
  /** Without the envelope's `_meta` keys, `requestState` and `inputResponses`. */
  params: Params;
  capabilities: ClientCapabilities;
  requestState: string | undefined;
  inputResponses: Record<string, unknown> | undefined;
  /** The envelope's log level, told to a modern backend. */
  logLevel?: LoggingLevel | undefined;
  /** The request's OAuth principal (oauth.ts `Principal.key`): an input_required retry must come with it. */
  principal?: string | undefined;
  /** Its `Mcp-Param-*` headers (a tools/call over HTTP), for the backend. */
  paramHeaders?: Record<string, string> | undefined;
}

const withParamHeaders = (
  headers: Record<string, string> | undefined,
): { headers?: Record<string, string> } => (headers ? { headers } : {});

/** The OAuth principal the front door admitted a request for (it rides in the SDK's authInfo). */
export function principalOfAuth(auth: { extra?: Record<string, unknown> } | undefined): string | undefined {
  const principal = auth?.extra?.['principal'];
  return typeof principal === 'string' ? principal : undefined;
}

function relayContextOf(ctx: ServerContext): RelayContext {
  return { requestId: ctx.mcpReq.id, signal: ctx.mcpReq.signal, notify: ctx.mcpReq.notify };
}

/**
 * One low-level `Server` (backend JSON Schemas pass through untouched) whose handlers
 * answer lists from the catalog and relay everything else to the backend that owns it.
 */
export function createSessionServer(deps: SessionServerDeps): SessionServer {
  const { registry, catalog } = deps;
  const server = new Server(deps.serverInfo, {
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
      logging: {},
      ...(deps.kind === 'stateless'
        ? { extensions: MODERN_TASKS_CAPABILITY }
        : { tasks: SESSION_TASKS_CAPABILITY }),
    },
    ...(deps.instructions !== undefined && { instructions: deps.instructions }),
  });

  let session: Session | undefined;
  if (deps.kind !== 'stateless') {
    const registered = deps.sessions.add(deps.kind, server);
    if (deps.view) registered.view = deps.view.name;
    session = registered;
    server.onclose = () => {
      deps.sessions.delete(registered);
      deps.tasks.dropOwner(registered.id);
      for (const uri of registered.subscriptions) void unsubscribeIfUnused(uri);
    };
  }
  const log = deps.log.with({ [Field.session]: session?.id ?? deps.kind });
  const clientEra = deps.kind === 'stateless' ? 'modern' : 'legacy';

  /**
   * Relays one request to `backend`, with the client's cancellation, timeout and progress.
   * `caller`: the bridged 2026-07-28 call it is made for, which answers the backend's requests
   * during it (a session answers its own).
   */
  const relay = async (
    backend: Backend,
    method: string,
    params: Params,
    ctx: RelayContext,
    caller?: Caller,
  ): Promise<Result> => {
    // The client's progress token is re-emitted under the backend's own token, never passed on.
    const { _meta, ...rest } = params;
    const { progressToken, ...meta } = (_meta ?? {}) as Record<string, unknown>;
    const forwarded = Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
    const onprogress =
      progressToken === undefined
        ? undefined
        : (progress: Progress): void =>
            void ctx
              .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
              .catch(() => {});
    // Counted here, the one place every relayed request passes, whatever the front door or era.
    const started = performance.now();
    const envelope = callerOf(ctx);
    const origin = session ?? caller;
    const send = (params: Params): Promise<Result> =>
      tracked(session, backend.name, () =>
        backend.relay(method, params, {
          signal: ctx.signal,
          caller: envelope,
          clientEra,
          ...(origin && { origin }),
          ...(onprogress && { onprogress }),
          ...withParamHeaders(
            backend.outgoingParamHeaders(method, params, clientEra, ctx.modern?.paramHeaders),
          ),
        }),
      );
    try {
      let result = await send(forwarded);
      // A 2025-era session cannot read input_required: the proxy asks it and retries (input-rounds.ts).
      // A 2026-07-28 client reads it itself, and its retry passes through with the backend's state.
      if (session && isInputRequired(result)) {
        result = await fulfilInputRounds(result, {
          backend: backend.name,
          method,
          server,
          signal: ctx.signal,
          retry: (inputResponses, requestState) =>
            send({ ...forwarded, inputResponses, ...(requestState !== undefined && { requestState }) }),
        });
      }
      const outcome = outcomeOf(result);
      deps.stats.record(backend.name, method, outcome, (performance.now() - started) / 1000);
      if (deps.view) deps.stats.recordView(deps.view.name, method, outcome);
      return result;
    } catch (error) {
      const outcome = failureOutcome(error, ctx.signal);
      deps.stats.record(backend.name, method, outcome, (performance.now() - started) / 1000);
      if (deps.view) deps.stats.recordView(deps.view.name, method, outcome);
      const clientError = toClientError(error, backend.name, method);
      // A timeout is the backend's fault and worth an operator's attention; the rest are
      // answers the client already gets (and the backend's own failures are logged where they happen).
      log[outcome === 'timeout' ? 'warn' : 'debug']('relay failed', {
        [Field.backend]: backend.name,
        [Field.method]: method,
        [Field.request]: ctx.requestId,
        outcome,
        [Field.error]: clientError.message,
      });
      throw clientError;
    }
  };

  /** A modern backend is told who calls: what it may ask this client, and its log level. */
  const callerOf = (ctx?: RelayContext): CallerEnvelope => {
    const logLevel = session?.logLevel ?? ctx?.modern?.logLevel;
    // The shared stateless relay's Server never connects: a 2026 caller's capabilities come with its call.
    const capabilities = ctx?.modern?.capabilities ?? server.getClientCapabilities() ?? {};
    return { capabilities, ...(logLevel && { logLevel }) };
  };

  const backendFor = (name: string): Backend => {
    const backend = registry.get(name);
    if (!backend) throw new ProtocolError(ProtocolErrorCode.InternalError, `backend "${name}" was removed`);
    return backend;
  };

  // Every list and every route below reads this one snapshot: the view, for a virtual server's client.
  const current = async (): Promise<Catalog> => {
    await deps.ready;
    return deps.view ? deps.view.select(clientEra) : catalog.current(clientEra);
  };

  /**
   * The catalog this client sees. Lists a modern backend marked `cacheScope: private` are never
   * shared across clients: they are fetched again for this one (its capabilities in the
   * envelope), and only the backends that marked them pay a round trip; a backend that fails to
   * answer shows this client nothing of those lists rather than someone else's.
   */
  /** Backends whose lists this client must be shown its own copy of (never another client's). */
  const privateFor = (backend: Backend): boolean =>
    backend.privateKinds().length > 0 && !(clientEra === 'legacy' && backend.legacyLists);
  const view = async (ctx?: RelayContext): Promise<Catalog> => {
    const shared = await current();
    const privates = registry.backends().filter(privateFor);
    if (privates.length === 0) return shared;
    const caller = callerOf(ctx);
    const replaced = new Map<string, Partial<BackendLists>>();
    await Promise.all(
      privates.map(async (backend) => {
        const kinds = backend.privateKinds();
        try {
          replaced.set(backend.name, await backend.listFor(kinds, caller));
        } catch (error) {
          log.warn('listing a private list for a client failed', {
            [Field.backend]: backend.name,
            [Field.error]: errorMessage(error),
          });
          replaced.set(backend.name, Object.fromEntries(kinds.map((kind) => [kind, []])));
        }
      }),
    );
    const own = catalog.viewWith(clientEra, replaced);
    return deps.view ? deps.view.narrow(own) : own;
  };

  server.setRequestHandler('tools/list', async () => ({ tools: (await view()).tools }));
  server.setRequestHandler('prompts/list', async () => ({ prompts: (await view()).prompts }));
  server.setRequestHandler('resources/list', async () => ({ resources: (await view()).resources }));
  server.setRequestHandler('resources/templates/list', async () => ({
    resourceTemplates: (await view()).resourceTemplates,
  }));

  /**
   * Calls are relayed raw: the SDK's typed handlers would parse every request and result
   * with zod on the way in and again on the way out, which is most of the proxy's CPU per
   * call. Routing needs only the name or URI; the backend validates its own input and the
   * client its own result, so the proxy checks just what it reads.
   */
  const relayed: Record<string, RelayHandler> = {
    'tools/call': async (params, ctx) => {
      const name = stringParam(params, 'name', 'tools/call');
      const snapshot = await current();
      // A name only this client was shown (a private list) is found in its own view, and one its
      // own view withholds (judged by the same pins) is refused there saying why.
      const own = snapshot.toolRoutes.has(name) ? undefined : await view(ctx);
      const route = snapshot.toolRoutes.get(name) ?? own?.toolRoutes.get(name);
      if (!route) {
        const withheld = snapshot.withheld.get(name) ?? own?.withheld.get(name);
        throw withheld ? withheldTool(withheld) : unknownName('tool', name);
      }
      const asTask = modernTasks?.callTool(
        route.backend,
        { ...params, name: route.name },
        taskSupportOf(route),
        ctx,
      );
      if (asTask) return asTask;
      if (taskRelay && params['task'] !== undefined && servesExtension(route.backend)) {
        // A 2025-era task request to a backend that serves the extension: the backend is told
        // the caller takes tasks (the extension in its capabilities) and decides itself.
        const { task: _hint, ...plain } = params;
        const own = server.getClientCapabilities() ?? {};
        const extensions = { ...(own as { extensions?: object }).extensions, [TASKS_EXTENSION]: {} };
        const capabilities = { ...own, extensions } as ClientCapabilities;
        const created = await forward(
          route.backend,
          'tools/call',
          { ...plain, name: route.name },
          {
            ...ctx,
            modern: { ...ctx.modern, capabilities },
          },
        );
        return taskRelay.created(route.backend, created);
      }
      // A 2026-07-28 call is never task-augmented on the way to a 2025-era backend but by the above.
      const call = modernTasks && 'task' in params ? { ...params, task: undefined } : params;
      const result = await forward(route.backend, 'tools/call', { ...call, name: route.name }, ctx);
      // A task-augmented call: the backend's task is recorded under an id of the proxy's.
      return params['task'] !== undefined && taskRelay ? taskRelay.created(route.backend, result) : result;
    },
    'prompts/get': async (params, ctx) => {
      const name = stringParam(params, 'name', 'prompts/get');
      const route = (await current()).promptRoutes.get(name) ?? (await view(ctx)).promptRoutes.get(name);
      if (!route) throw unknownName('prompt', name);
      return forward(route.backend, 'prompts/get', { ...params, name: route.name }, ctx);
    },
    'resources/read': async (params, ctx) => {
      const uri = stringParam(params, 'uri', 'resources/read');
      const owner = routeResource(await current(), uri) ?? routeResource(await view(ctx), uri);
      if (!owner) throw unknownName('resource', uri);
      return forward(owner, 'resources/read', params, ctx);
    },
    'completion/complete': async (params, ctx) => {
      const ref = params['ref'];
      if (typeof ref !== 'object' || ref === null) throw invalidParams('completion/complete', 'ref');
      const snapshot = await current();
      const { type, name, uri } = ref as Record<string, unknown>;
      if (type === 'ref/prompt' && typeof name === 'string') {
        const route = snapshot.promptRoutes.get(name);
        if (!route) throw unknownName('prompt', name);
        return forward(
          route.backend,
          'completion/complete',
          { ...params, ref: { ...ref, name: route.name } },
          ctx,
        );
      }
      if (type === 'ref/resource' && typeof uri === 'string') {
        const owner =
          snapshot.templateRoutes.find((t) => t.uriTemplate === uri)?.backend ?? routeResource(snapshot, uri);
        if (!owner) throw unknownName('resource', uri);
        return forward(owner, 'completion/complete', params, ctx);
      }
      throw invalidParams('completion/complete', 'ref');
    },
  };

  const forward = (
    backendName: string,
    method: string,
    params: Params,
    ctx: RelayContext,
  ): Promise<Result> => {
    // A bridged 2026-07-28 call is its own caller: the backend's questions during it find it.
    const caller = deps.bridge?.callerFor(ctx.signal);
    const run = () => relay(backendFor(backendName), method, params, ctx, caller);
    return caller ? deps.sessions.withCaller(caller, () => tracked(caller, backendName, run)) : run();
  };

  /** The backend a bridged method goes to, if the catalog knows it. */
  const ownerOf = (snapshot: Catalog, method: string, params: Params): Backend | undefined => {
    const name = params['name'];
    const uri = params['uri'];
    const owner =
      method === 'tools/call' && typeof name === 'string'
        ? snapshot.toolRoutes.get(name)?.backend
        : method === 'prompts/get' && typeof name === 'string'
          ? snapshot.promptRoutes.get(name)?.backend
          : method === 'resources/read' && typeof uri === 'string'
            ? routeResource(snapshot, uri)
            : undefined;
    return owner === undefined ? undefined : registry.get(owner);
  };
  /** A modern backend that declared the tasks extension runs tasks of its own (tasks-extension.ts). */
  const servesExtension = (name: string): boolean => {
    const backend = registry.get(name);
    return backend?.era === 'modern' && servesTaskExtension(backend.capabilities);
  };
  const connectionOf = (name: string): object | undefined => {
    const backend = registry.get(name);
    return backend?.state === 'ready' ? backend.connection() : undefined;
  };
  const taskRelay =
    session &&
    createTaskRelay({
      tasks: deps.tasks,
      owner: () => session.id,
      call: (backend, method, params, ctx) => forward(backend, method, params, ctx),
      connectionOf,
      servesExtension,
      askSession: (backend, request, signal) =>
        askSession({ backend, method: 'tasks/result', server, signal }, request),
    });
  if (taskRelay) Object.assign(relayed, taskRelay.handlers);
  const modernTasks =
    deps.kind === 'stateless'
      ? registerModernTasks({
          server,
          tasks: deps.tasks,
          call: forward,
          connectionOf,
          servesExtension,
          relayContextOf,
          withCaller: (caller, backend, work) =>
            deps.sessions.withCaller(caller, () => tracked(caller, backend, work)),
        })
      : undefined;
  /** What the backend says of running its tool as a task (`execution.taskSupport`). */
  const taskSupportOf = (route: { backend: string; name: string }): unknown =>
    registry.get(route.backend)?.lists.tools.find((t) => t.name === route.name)?.execution?.taskSupport;

  // Own keys only: a method named "constructor" must not find Object's.
  const relayedFor = (method: string): RelayHandler | undefined =>
    Object.hasOwn(relayed, method) ? relayed[method] : undefined;

  const relayModern = (method: string, call: ModernCall, ctx: RelayContext): Promise<Result> | undefined => {
    const handle = relayedFor(method);
    if (!handle) return undefined;
    if (!deps.bridge || !MRTR_METHODS.has(method)) return handle(call.params, ctx);
    return bridged(deps.bridge, handle, method, call, ctx);
  };

  const bridged = async (
    bridge: InputBridge,
    handle: RelayHandler,
    method: string,
    call: ModernCall,
    ctx: RelayContext,
  ): Promise<Result> => {
    const modern = {
      capabilities: call.capabilities,
      ...(call.logLevel !== undefined && { logLevel: call.logLevel }),
      ...(call.paramHeaders !== undefined && { paramHeaders: call.paramHeaders }),
    };
    // A modern backend asks a modern client itself: its input_required and the client's retry
    // (answers, the backend's own requestState) pass through, so the bridge stays out of the way.
    const owner =
      ownerOf(await current(), method, call.params) ?? ownerOf(await view(ctx), method, call.params);
    if (owner?.era === 'modern') {
      const { inputResponses, requestState } = call;
      return handle(
        {
          ...call.params,
          ...(inputResponses !== undefined && { inputResponses }),
          ...(requestState !== undefined && { requestState }),
        },
        { ...ctx, modern },
      );
    }
    const { _meta, ...params } = call.params;
    return bridge.serve(
      {
        method,
        params,
        capabilities: call.capabilities,
        requestState: call.requestState,
        inputResponses: call.inputResponses,
        notify: ctx.notify,
        scope: { principal: call.principal, view: deps.view?.name },
      },
      (own) => handle(_meta === undefined ? params : { ...params, _meta }, { ...ctx, modern, ...own }),
    );
  };

  /**
   * Whether a 2026-07-28 call may be answered without the SDK's per-request `Server`. Not a call
   * that may become a task: the tasks extension reads the caller's capabilities and owner from
   * that `Server` and its context (tasks-modern.ts), which the shared relay does not have. Until
   * the startup backends settled the catalog cannot tell, so those calls go the SDK's way too.
   */
  const takesDirect = (method: string, params: Params): boolean => {
    if (!modernTasks || method !== 'tools/call') return true;
    const name = params['name'];
    if (!deps.settled()) return false;
    if (typeof name !== 'string') return true;
    const snapshot = deps.view ? deps.view.select(clientEra) : catalog.current(clientEra);
    const route = snapshot.toolRoutes.get(name);
    // A name only a private list shows is routed per client, and may be a task tool too.
    if (!route) return !registry.backends().some((b) => b.privateKinds().includes('tools'));
    // Any call may become a task on a backend that serves the extension: it decides, not the tool list.
    if (servesExtension(route.backend)) return false;
    const support = taskSupportOf(route);
    return support !== 'required' && support !== 'optional';
  };
  const relayDirect = (method: string, call: ModernCall, ctx: RelayContext): Promise<Result> | undefined =>
    takesDirect(method, call.params) ? relayModern(method, call, ctx) : undefined;

  server.fallbackRequestHandler = async (request, ctx) => {
    modernTasks?.enter(ctx);
    const served = relayModern(
      request.method,
      {
        params: request.params ?? {},
        capabilities: server.getClientCapabilities() ?? {},
        requestState: ctx.mcpReq.requestState<string>(),
        inputResponses: ctx.mcpReq.inputResponses,
        logLevel: ctx.mcpReq.envelope?.[LOG_LEVEL_META_KEY as never] as LoggingLevel | undefined,
        principal: principalOfAuth(ctx.http?.authInfo),
        paramHeaders:
          request.method === 'tools/call' && ctx.http?.req
            ? sentParamHeaders(Object.fromEntries(ctx.http.req.headers))
            : undefined,
      },
      relayContextOf(ctx),
    );
    if (!served)
      throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    return served;
  };

  // Subscriptions are per session in the proxy; a backend is subscribed once, while anyone is.
  const subscribers = (uri: string): number => deps.sessions.subscriberCount(uri);
  const unsubscribeIfUnused = (uri: string): Promise<void> =>
    unsubscribeBackendIfUnused(registry, catalog, deps.sessions, uri);

  server.setRequestHandler('resources/subscribe', async (request) => {
    const uri = request.params.uri;
    const owner = routeResource(await current(), uri);
    if (!owner) throw unknownName('resource', uri);
    const first = subscribers(uri) === 0;
    const added = session !== undefined && !session.subscriptions.has(uri);
    session?.subscriptions.add(uri);
    const backend = backendFor(owner);
    if (first && backend.subscribable) {
      try {
        await backend.subscribe(uri).catch((error: unknown) => {
          throw toClientError(error, backend.name, 'resources/subscribe');
        });
      } catch (error) {
        // The client is told it is not subscribed: it must not get updates after a reconnect either.
        if (added) session?.subscriptions.delete(uri);
        throw error;
      }
    }
    return {};
  });

  server.setRequestHandler('resources/unsubscribe', async (request) => {
    session?.subscriptions.delete(request.params.uri);
    await unsubscribeIfUnused(request.params.uri);
    return {};
  });

  // A client's roots changed: backends that cached them ask again (and reach this client).
  server.setNotificationHandler('notifications/roots/list_changed', () => {
    for (const backend of registry.backends()) {
      if (backend.state !== 'ready') continue;
      void backend
        .connection()
        .notification({ method: 'notifications/roots/list_changed' })
        .catch(() => {});
    }
  });

  server.setRequestHandler('logging/setLevel', async (request) => {
    if (session) session.logLevel = request.params.level;
    return {};
  });

  const sharedCatalog = (): Catalog | undefined => {
    if (!deps.settled() || registry.backends().some(privateFor)) return undefined;
    return deps.view ? deps.view.select(clientEra) : catalog.current(clientEra);
  };

  const paramHeadersOf = (name: string): readonly ParamHeader[] | undefined => {
    const route = (deps.view ? deps.view.select(clientEra) : catalog.current(clientEra)).toolRoutes.get(name);
    return route && registry.get(route.backend)?.paramHeaders(route.name);
  };

  return { server, relayedFor, relayModern: relayDirect, sharedCatalog, paramHeadersOf };
}
