import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { Catalog, CatalogSource } from './catalog.js';
import { buildCatalog, emptyCatalog } from './catalog.js';
import { toolFilter } from './filter.js';
import type { NamingOptions } from './names.js';

export interface CatalogChange {
  tools: boolean;
  prompts: boolean;
  resources: boolean;
}

export interface CatalogStore {
  current(): Catalog;
  onChange(listener: (change: CatalogChange) => void): () => void;
}

/**
 * Keeps the catalog in step with the registry: every registry change rebuilds it from the
 * ready backends and swaps it in one assignment. Answering a list never calls a backend.
 */
export function createCatalogStore(registry: Registry, naming: NamingOptions, log: Logger): CatalogStore {
  let current = emptyCatalog;
  const listeners = new Set<(change: CatalogChange) => void>();
  const reported = new Set<string>();

  const rebuild = (): void => {
    const sources: CatalogSource[] = registry
      .backends()
      .filter((backend) => backend.state === 'ready')
      .map((backend) => ({
        backend: backend.name,
        prefix: backend.spec.prefix ?? backend.name,
        includeTool: toolFilter(backend.spec.tools),
        lists: backend.lists,
      }));
    const next = buildCatalog(sources, naming);
    for (const c of next.collisions) {
      const key = `${c.kind}:${c.exposed}:${c.droppedFrom}`;
      if (reported.has(key)) continue;
      reported.add(key);
      log.warn(`name collision: ${c.kind} "${c.exposed}" is kept by "${c.keptBy}"`, {
        [Field.backend]: c.droppedFrom,
      });
    }
    const change: CatalogChange = {
      tools: next.digests.tools !== current.digests.tools,
      prompts: next.digests.prompts !== current.digests.prompts,
      resources: next.digests.resources !== current.digests.resources,
    };
    current = next;
    if (change.tools || change.prompts || change.resources) {
      for (const listener of listeners) listener(change);
    }
  };
  registry.onChange(rebuild);

  return {
    current: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
