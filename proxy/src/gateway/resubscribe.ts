import type { Client } from '@modelcontextprotocol/client';
import { routeResource } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { SessionTable } from './sessions.js';

export interface ResubscribeOptions {
  registry: Registry;
  catalog: CatalogStore;
  sessions: SessionTable;
  log: Logger;
}

/**
 * A backend's resource subscriptions live in its connection: after a reconnect (crash,
 * restart, a changed spec) it has none, while the sessions still expect updates. Each time a
 * backend is ready on a connection not seen before, every URI some session (or 2026-07-28 listen
 * stream) subscribed to and that this backend owns is subscribed again. Must be registered after the catalog's own
 * registry listener, so routes already reflect the backend's new lists.
 */
export function resubscribeOnReconnect(options: ResubscribeOptions): () => void {
  const { registry, catalog, sessions, log } = options;
  /** Per backend, the connection its subscriptions were last made on. */
  const seen = new Map<string, Client>();

  return registry.onChange(() => {
    const present = new Set<string>();
    for (const backend of registry.backends()) {
      present.add(backend.name);
      if (backend.state !== 'ready') continue;
      const connection = backend.connection();
      if (seen.get(backend.name) === connection) continue;
      seen.set(backend.name, connection);
      if (!backend.subscribable) continue;
      const routes = catalog.current();
      const uris = new Set<string>();
      for (const uri of sessions.subscribedUris()) {
        if (routeResource(routes, uri) === backend.name) uris.add(uri);
      }
      if (uris.size === 0) continue;
      log.info('re-subscribing resources after reconnect', {
        [Field.backend]: backend.name,
        count: uris.size,
      });
      for (const uri of uris) {
        backend.subscribe(uri).catch((error: unknown) =>
          log.warn('re-subscribing a resource failed', {
            [Field.backend]: backend.name,
            uri,
            [Field.error]: errorMessage(error),
          }),
        );
      }
    }
    for (const name of seen.keys()) if (!present.has(name)) seen.delete(name);
  });
}
