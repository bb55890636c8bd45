import type { Client, RequestOptions } from '@modelcontextprotocol/client';
import type { Implementation, ServerContext } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { routeResource } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Backend } from '../registry/backend.js';
import type { Registry } from '../registry/registry.js';
import { toClientError, unknownName } from './errors.js';
import type { Session, SessionKind, SessionTable } from './sessions.js';
import { tracked } from './sessions.js';

export interface SessionServerDeps {
  kind: SessionKind;
  registry: Registry;
  catalog: CatalogStore;
  sessions: SessionTable;
  serverInfo: Implementation;
  instructions: string | undefined;
  ready: Promise<void>;
  log: Logger;
}

type Meta = Record<string, unknown> | undefined;

/**
 * One low-level `Server` (backend JSON Schemas pass through untouched) whose handlers
 * answer lists from the catalog and relay everything else to the backend that owns it.
 */
export function createSessionServer(deps: SessionServerDeps): Server {
  const { registry, catalog } = deps;
  const server = new Server(deps.serverInfo, {
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
      logging: {},
    },
    ...(deps.instructions !== undefined && { instructions: deps.instructions }),
  });

  let session: Session | undefined;
  if (deps.kind !== 'stateless') {
    const registered = deps.sessions.add(deps.kind, server);
    session = registered;
    server.onclose = () => {
      deps.sessions.delete(registered);
      for (const uri of registered.subscriptions) void unsubscribeIfUnused(uri);
    };
  }
  const log = deps.log.with({ [Field.session]: session?.id ?? deps.kind });

  /** Relays one request to `backend`, with the client's cancellation, timeout and progress. */
  const relay = async <T>(
    backend: Backend,
    method: string,
    ctx: ServerContext,
    meta: Meta,
    send: (client: Client, options: RequestOptions, meta: Meta) => Promise<T>,
  ): Promise<T> => {
    // The client's progress token is re-emitted under the backend's own token, never passed on.
    const { progressToken, ...forwardMeta } = meta ?? {};
    const options = backend.requestOptions({
      signal: ctx.mcpReq.signal,
      ...(progressToken !== undefined && {
        resetTimeoutOnProgress: true,
        onprogress: (progress) => {
          void ctx.mcpReq
            .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
            .catch(() => {});
        },
      }),
    });
    try {
      return await tracked(session, backend.name, () =>
        send(backend.connection(), options, Object.keys(forwardMeta).length ? forwardMeta : undefined),
      );
    } catch (error) {
      const clientError = toClientError(error, backend.name, method);
      log.debug('relay failed', {
        [Field.backend]: backend.name,
        [Field.method]: method,
        error: clientError.message,
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

  server.setRequestHandler('tools/call', async (request, ctx) => {
    const route = (await current()).toolRoutes.get(request.params.name);
    if (!route) throw unknownName('tool', request.params.name);
    const { _meta, ...params } = request.params;
    return relay(backendFor(route.backend), 'tools/call', ctx, _meta, (client, options, meta) =>
      client.request(
        { method: 'tools/call', params: { ...params, name: route.name, ...(meta && { _meta: meta }) } },
        options,
      ),
    );
  });

  server.setRequestHandler('prompts/get', async (request, ctx) => {
    const route = (await current()).promptRoutes.get(request.params.name);
    if (!route) throw unknownName('prompt', request.params.name);
    const { _meta, ...params } = request.params;
    return relay(backendFor(route.backend), 'prompts/get', ctx, _meta, (client, options, meta) =>
      client.request(
        { method: 'prompts/get', params: { ...params, name: route.name, ...(meta && { _meta: meta }) } },
        options,
      ),
    );
  });

  server.setRequestHandler('resources/read', async (request, ctx) => {
    const owner = routeResource(await current(), request.params.uri);
    if (!owner) throw unknownName('resource', request.params.uri);
    const { _meta, ...params } = request.params;
    return relay(backendFor(owner), 'resources/read', ctx, _meta, (client, options, meta) =>
      client.request(
        { method: 'resources/read', params: { ...params, ...(meta && { _meta: meta }) } },
        options,
      ),
    );
  });

  server.setRequestHandler('completion/complete', async (request, ctx) => {
    const { ref, ...rest } = request.params;
    const snapshot = await current();
    let backend: string | undefined;
    let forwardedRef = ref;
    if (ref.type === 'ref/prompt') {
      const route = snapshot.promptRoutes.get(ref.name);
      if (!route) throw unknownName('prompt', ref.name);
      backend = route.backend;
      forwardedRef = { ...ref, name: route.name };
    } else {
      backend =
        snapshot.templateRoutes.find((t) => t.uriTemplate === ref.uri)?.backend ??
        routeResource(snapshot, ref.uri);
      if (!backend) throw unknownName('resource', ref.uri);
    }
    const { _meta, ...params } = rest;
    return relay(backendFor(backend), 'completion/complete', ctx, _meta, (client, options, meta) =>
      client.request(
        {
          method: 'completion/complete',
          params: { ...params, ref: forwardedRef, ...(meta && { _meta: meta }) },
        },
        options,
      ),
    );
  });

  // Subscriptions are per session in the proxy; a backend is subscribed once, while anyone is.
  const subscribers = (uri: string): number =>
    deps.sessions.all().filter((s) => s.subscriptions.has(uri)).length;

  const unsubscribeIfUnused = async (uri: string): Promise<void> => {
    if (subscribers(uri) > 0) return;
    const owner = routeResource(catalog.current(), uri);
    const backend = owner ? registry.get(owner) : undefined;
    if (backend?.state !== 'ready' || !backend.capabilities?.resources?.subscribe) return;
    await backend
      .connection()
      .request({ method: 'resources/unsubscribe', params: { uri } }, backend.requestOptions())
      .catch(() => {});
  };

  server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    const uri = request.params.uri;
    const owner = routeResource(await current(), uri);
    if (!owner) throw unknownName('resource', uri);
    const first = subscribers(uri) === 0;
    session?.subscriptions.add(uri);
    const backend = backendFor(owner);
    if (first && backend.capabilities?.resources?.subscribe) {
      await relay(backend, 'resources/subscribe', ctx, undefined, (client, options) =>
        client.request({ method: 'resources/subscribe', params: { uri } }, options),
      );
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

  return server;
}
