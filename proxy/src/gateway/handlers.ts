import type { Progress } from '@modelcontextprotocol/client';
import type { Implementation, Result, ServerContext } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { routeResource } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Backend } from '../registry/backend.js';
import type { Registry } from '../registry/registry.js';
import { toClientError, unknownName } from './errors.js';
import type { RelayContext, RelayHandler } from './fastpath.js';
import type { RelayStats } from './relay-stats.js';
import { failureOutcome, outcomeOf } from './relay-stats.js';
import type { Session, SessionKind, SessionTable } from './sessions.js';
import { tracked } from './sessions.js';
import { unsubscribeBackendIfUnused } from './subscriptions.js';
import type { InputBridge } from './bridge.js';
import { MRTR_METHODS } from './bridge.js';
import type { TaskTable } from './tasks.js';
import { createTaskRelay } from './tasks-relay.js';
import { MODERN_TASKS_CAPABILITY, registerModernTasks } from './tasks-modern.js';

export interface SessionServerDeps {
  kind: SessionKind;
  registry: Registry;
  catalog: CatalogStore;
  sessions: SessionTable;
  serverInfo: Implementation;
  instructions: string | undefined;
  ready: Promise<void>;
  log: Logger;
  stats: RelayStats;
  /** For 2026-07-28 calls: backend requests become input_required rounds (bridge.ts). */
  bridge?: InputBridge;
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
    session = registered;
    server.onclose = () => {
      deps.sessions.delete(registered);
      deps.tasks.dropOwner(registered.id);
      for (const uri of registered.subscriptions) void unsubscribeIfUnused(uri);
    };
  }
  const log = deps.log.with({ [Field.session]: session?.id ?? deps.kind });

  /** Relays one request to `backend`, with the client's cancellation, timeout and progress. */
  const relay = async (
    backend: Backend,
    method: string,
    params: Params,
    ctx: RelayContext,
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
    try {
      const result = await tracked(session, backend.name, () =>
        backend.relay(method, forwarded, { signal: ctx.signal, ...(onprogress && { onprogress }) }),
      );
      deps.stats.record(backend.name, method, outcomeOf(result), (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      const outcome = failureOutcome(error, ctx.signal);
      deps.stats.record(backend.name, method, outcome, (performance.now() - started) / 1000);
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

  const backendFor = (name: string): Backend => {
    const backend = registry.get(name);
    if (!backend) throw new ProtocolError(ProtocolErrorCode.InternalError, `backend "${name}" was removed`);
    return backend;
  };

  const current = async () => {
    await deps.ready;
    return catalog.current();
  };

  server.setRequestHandler('tools/list', async () => ({ tools: (await current()).tools }));
  server.setRequestHandler('prompts/list', async () => ({ prompts: (await current()).prompts }));
  server.setRequestHandler('resources/list', async () => ({ resources: (await current()).resources }));
  server.setRequestHandler('resources/templates/list', async () => ({
    resourceTemplates: (await current()).resourceTemplates,
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
      const route = (await current()).toolRoutes.get(name);
      if (!route) throw unknownName('tool', name);
      const asTask = modernTasks?.callTool(
        route.backend,
        { ...params, name: route.name },
        taskSupportOf(route),
        ctx,
      );
      if (asTask) return asTask;
      // A 2026-07-28 call is never task-augmented on the way to a 2025-era backend but by the above.
      const call = modernTasks && 'task' in params ? { ...params, task: undefined } : params;
      const result = await forward(route.backend, 'tools/call', { ...call, name: route.name }, ctx);
      // A task-augmented call: the backend's task is recorded under an id of the proxy's.
      return params['task'] !== undefined && taskRelay ? taskRelay.created(route.backend, result) : result;
    },
    'prompts/get': async (params, ctx) => {
      const name = stringParam(params, 'name', 'prompts/get');
      const route = (await current()).promptRoutes.get(name);
      if (!route) throw unknownName('prompt', name);
      return forward(route.backend, 'prompts/get', { ...params, name: route.name }, ctx);
    },
    'resources/read': async (params, ctx) => {
      const uri = stringParam(params, 'uri', 'resources/read');
      const owner = routeResource(await current(), uri);
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
    const run = () => relay(backendFor(backendName), method, params, ctx);
    return caller ? deps.sessions.withCaller(caller, () => tracked(caller, backendName, run)) : run();
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
    });
  if (taskRelay) Object.assign(relayed, taskRelay.handlers);
  const modernTasks =
    deps.kind === 'stateless'
      ? registerModernTasks({
          server,
          tasks: deps.tasks,
          call: forward,
          connectionOf,
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

  server.fallbackRequestHandler = async (request, ctx) => {
    modernTasks?.enter(ctx);
    const handle = relayedFor(request.method);
    if (!handle)
      throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    const params = request.params ?? {};
    if (!deps.bridge || !MRTR_METHODS.has(request.method)) return handle(params, relayContextOf(ctx));
    const { _meta, ...call } = params;
    return deps.bridge.serve(
      {
        method: request.method,
        params: call,
        capabilities: server.getClientCapabilities() ?? {},
        requestState: ctx.mcpReq.requestState<string>(),
        inputResponses: ctx.mcpReq.inputResponses,
        notify: ctx.mcpReq.notify,
      },
      (own) => handle(_meta === undefined ? call : { ...call, _meta }, { ...relayContextOf(ctx), ...own }),
    );
  };

  // Subscriptions are per session in the proxy; a backend is subscribed once, while anyone is.
  const subscribers = (uri: string): number => deps.sessions.subscriberCount(uri);
  const unsubscribeIfUnused = (uri: string): Promise<void> =>
    unsubscribeBackendIfUnused(registry, catalog, deps.sessions, uri);

  server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    const uri = request.params.uri;
    const owner = routeResource(await current(), uri);
    if (!owner) throw unknownName('resource', uri);
    const first = subscribers(uri) === 0;
    const added = session !== undefined && !session.subscriptions.has(uri);
    session?.subscriptions.add(uri);
    const backend = backendFor(owner);
    if (first && backend.capabilities?.resources?.subscribe) {
      try {
        await relay(backend, 'resources/subscribe', { uri }, relayContextOf(ctx));
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

  return { server, relayedFor };
}
