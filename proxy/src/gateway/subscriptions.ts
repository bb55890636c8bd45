import { routeResource } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { SessionTable } from './sessions.js';

// A backend is subscribed to a URI once, while any session or listen stream wants its updates.

/** Drops the backend's subscription to `uri` when nobody wants its updates any more. */
export async function unsubscribeBackendIfUnused(
  registry: Registry,
  catalog: CatalogStore,
  sessions: SessionTable,
  uri: string,
): Promise<void> {
  if (sessions.subscriberCount(uri) > 0) return;
  const owner = routeResource(catalog.current(), uri);
  const backend = owner ? registry.get(owner) : undefined;
  if (!backend?.subscribable) return;
  await backend.unsubscribe(uri).catch(() => {});
}

export interface WatchDeps {
  registry: Registry;
  catalog: CatalogStore;
  sessions: SessionTable;
  log: Logger;
}

/**
 * A 2026-07-28 `subscriptions/listen` stream asks for resource updates in its filter instead
 * of with `resources/subscribe`, so the proxy subscribes the owning backends for it while the
 * stream is open. A URI no backend owns yet is subscribed when its backend becomes ready (the
 * reconnect re-subscription sees it). Returns the release, to call when the stream closes.
 */
export function watchResources(deps: WatchDeps, uris: readonly string[]): () => void {
  const { registry, catalog, sessions, log } = deps;
  const unique = [...new Set(uris)];
  for (const uri of unique) {
    const first = sessions.subscriberCount(uri) === 0;
    sessions.watch(uri);
    if (!first) continue;
    const owner = routeResource(catalog.current(), uri);
    const backend = owner ? registry.get(owner) : undefined;
    if (!backend?.subscribable) continue;
    backend.subscribe(uri).catch((error: unknown) =>
      log.warn('subscribing a resource for a listen stream failed', {
        [Field.backend]: backend.name,
        uri,
        [Field.error]: errorMessage(error),
      }),
    );
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const uri of unique) {
      sessions.unwatch(uri);
      void unsubscribeBackendIfUnused(registry, catalog, sessions, uri);
    }
  };
}
