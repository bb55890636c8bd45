import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { BackendLists } from '../registry/backend.js';
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

/**
 * Which clients a view is for. Backends that serve both eras may show 2025-era clients other
 * tools than 2026-07-28 ones (see Backend.legacyLists); for every other backend both views
 * hold the same lists.
 */
export type ClientEra = 'legacy' | 'modern';

export interface CatalogStore {
  /** The catalog 2026-07-28 clients see (the default), or the one for 2025-era sessions. */
  current(era?: ClientEra): Catalog;
  onChange(listener: (change: CatalogChange) => void): () => void;
  /**
   * The catalog as one client sees it when some backends' lists were fetched for that client
   * (a modern backend's `cacheScope: private` lists, never shared): the same pipeline, with
   * those backends' lists replaced.
   */
  viewWith(era: ClientEra, replaced: ReadonlyMap<string, Partial<BackendLists>>): Catalog;
}

/**
 * Keeps the catalog in step with the registry: every registry change rebuilds it from the
 * ready backends and swaps it in one assignment. Answering a list never calls a backend.
 */
export function createCatalogStore(registry: Registry, naming: NamingOptions, log: Logger): CatalogStore {
  let current = emptyCatalog;
  let legacy = emptyCatalog;
  const listeners = new Set<(change: CatalogChange) => void>();
  const reported = new Set<string>();

  const sourcesOf = (
    era: ClientEra,
    replaced?: ReadonlyMap<string, Partial<BackendLists>>,
  ): CatalogSource[] =>
    registry
      .backends()
      .filter((backend) => backend.state === 'ready')
      .map((backend) => {
        const lists = era === 'legacy' ? (backend.legacyLists ?? backend.lists) : backend.lists;
        return {
          backend: backend.name,
          prefix: backend.spec.prefix ?? backend.name,
          includeTool: toolFilter(backend.spec.tools),
          lists: { ...lists, ...replaced?.get(backend.name) },
        };
      });

  const rebuild = (): void => {
    const ready = registry.backends().filter((backend) => backend.state === 'ready');
    const sources = (era: ClientEra): CatalogSource[] => sourcesOf(era);
    const next = buildCatalog(sources('modern'), naming);
    const nextLegacy = ready.some((b) => b.legacyLists !== undefined)
      ? buildCatalog(sources('legacy'), naming)
      : next;
    for (const c of next.collisions) {
      const key = `${c.kind}:${c.exposed}:${c.droppedFrom}`;
      if (reported.has(key)) continue;
      reported.add(key);
      log.warn(`name collision: ${c.kind} "${c.exposed}" is kept by "${c.keptBy}"`, {
        [Field.backend]: c.droppedFrom,
      });
    }
    const changed = (kind: keyof Catalog['digests']): boolean =>
      next.digests[kind] !== current.digests[kind] || nextLegacy.digests[kind] !== legacy.digests[kind];
    const change: CatalogChange = {
      tools: changed('tools'),
      prompts: changed('prompts'),
      resources: changed('resources'),
    };
    current = next;
    legacy = nextLegacy;
    if (change.tools || change.prompts || change.resources) {
      for (const listener of listeners) listener(change);
    }
  };
  registry.onChange(rebuild);

  return {
    current: (era = 'modern') => (era === 'legacy' ? legacy : current),
    viewWith: (era, replaced) => buildCatalog(sourcesOf(era, replaced), naming),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
