import type { VirtualServerSpec } from '../config/virtual.js';
import type { Catalog } from './catalog.js';
import { emptyCatalog } from './catalog.js';
import { toolFilter } from './filter.js';
import { listDigest } from './serialized.js';
import type { CatalogStore, ClientEra } from './store.js';
import type { VirtualServers } from './virtual-servers.js';

/**
 * The part of the catalog one virtual server shows: its backends' tools (then its globs over
 * exposed names), prompts, resources and templates, with the routing table cut to match. A view
 * is a selection of the one catalog, never a catalog of its own: handlers list from it and route
 * through it, so what a client cannot list it cannot call, get or read either.
 */
export function selectView(catalog: Catalog, spec: VirtualServerSpec): Catalog {
  const backends = spec.backends === undefined ? undefined : new Set(spec.backends);
  const inView = (backend: string): boolean => backends === undefined || backends.has(backend);
  const toolPasses = toolFilter(spec.tools);

  const toolRoutes = new Map(
    [...catalog.toolRoutes].filter(([exposed, route]) => inView(route.backend) && toolPasses(exposed)),
  );
  const promptRoutes = new Map([...catalog.promptRoutes].filter(([, route]) => inView(route.backend)));
  const resourceRoutes = new Map([...catalog.resourceRoutes].filter(([, backend]) => inView(backend)));
  const templateRoutes = catalog.templateRoutes.filter((t) => inView(t.backend));
  const templateKeys = new Set(templateRoutes.map((t) => t.uriTemplate));

  const tools = catalog.tools.filter((t) => toolRoutes.has(t.name));
  const prompts = catalog.prompts.filter((p) => promptRoutes.has(p.name));
  const resources = catalog.resources.filter((r) => resourceRoutes.has(r.uri));
  const resourceTemplates = catalog.resourceTemplates.filter((t) => templateKeys.has(t.uriTemplate));
  return {
    tools,
    prompts,
    resources,
    resourceTemplates,
    toolRoutes,
    promptRoutes,
    resourceRoutes,
    templateRoutes,
    collisions: catalog.collisions.filter((c) => inView(c.keptBy) || inView(c.droppedFrom)),
    toolEntries: catalog.toolEntries.filter((e) => inView(e.backend)),
    // A quarantined tool the view would show is refused saying why; one it would not is unknown.
    withheld: new Map(
      [...catalog.withheld].filter(([exposed, entry]) => inView(entry.backend) && toolPasses(exposed)),
    ),
    digests: {
      tools: listDigest(tools),
      prompts: listDigest(prompts),
      resources: listDigest(resources, resourceTemplates),
    },
  };
}

/** True when `backend`'s pushes (log messages) may reach a client of `spec`. */
export function viewIncludesBackend(spec: VirtualServerSpec | undefined, backend: string): boolean {
  return spec !== undefined && (spec.backends === undefined || spec.backends.includes(backend));
}

export interface ViewChange {
  view: string;
  tools: boolean;
  prompts: boolean;
  resources: boolean;
}

export interface Views {
  /**
   * The catalog as virtual server `name` shows it. A name that is not (or no longer) defined
   * shows nothing: a session whose virtual server was deleted keeps its connection but sees an
   * empty catalog, and every call is refused as unknown.
   */
  select(name: string, era?: ClientEra): Catalog;
  /** The selection `name` makes of a catalog built for one client (its private lists). */
  narrow(name: string, catalog: Catalog): Catalog;
  spec(name: string): VirtualServerSpec | undefined;
  /** Hears, per view that `watched()` names, which of its lists changed (catalog rebuilt or definition edited). */
  onChange(listener: (change: ViewChange) => void): () => void;
  /** A session of `name` starts: what it sees now is the baseline its next change is measured against. */
  track(name: string): void;
}

/**
 * Views are computed on demand and cached until the catalog or the definition changes (both are
 * replaced, never mutated, so identity is the cache key). Change detection compares each watched
 * view's digests before and after: a session of a view hears `list_changed` only when what it
 * sees changed.
 */
export function createViews(
  catalog: CatalogStore,
  virtualServers: VirtualServers,
  watched: () => Iterable<string>,
): Views {
  let cache = new WeakMap<Catalog, WeakMap<VirtualServerSpec, Catalog>>();
  const listeners = new Set<(change: ViewChange) => void>();
  const seen = new Map<string, Catalog['digests']>();

  const select = (name: string, era?: ClientEra): Catalog => {
    const spec = virtualServers.get(name)?.spec;
    if (!spec) return emptyCatalog;
    const full = catalog.current(era);
    let byView = cache.get(full);
    if (!byView) cache.set(full, (byView = new WeakMap()));
    let view = byView.get(spec);
    if (!view) byView.set(spec, (view = selectView(full, spec)));
    return view;
  };

  // Both eras' selections: a server serving both may show 2025-era clients other lists.
  const digestsOf = (name: string): Catalog['digests'] => {
    const modern = select(name, 'modern').digests;
    const legacy = select(name, 'legacy').digests;
    return {
      tools: `${modern.tools}/${legacy.tools}`,
      prompts: `${modern.prompts}/${legacy.prompts}`,
      resources: `${modern.resources}/${legacy.resources}`,
    };
  };

  const recheck = (): void => {
    const names = new Set(watched());
    for (const name of seen.keys()) if (!names.has(name)) seen.delete(name);
    for (const name of names) {
      const next = digestsOf(name);
      const before = seen.get(name);
      seen.set(name, next);
      if (!before) continue;
      const change: ViewChange = {
        view: name,
        tools: before.tools !== next.tools,
        prompts: before.prompts !== next.prompts,
        resources: before.resources !== next.resources,
      };
      if (change.tools || change.prompts || change.resources) for (const l of listeners) l(change);
    }
  };
  catalog.onChange(recheck);
  virtualServers.onChange(() => {
    cache = new WeakMap();
    recheck();
  });

  return {
    select,
    narrow(name, own) {
      const spec = virtualServers.get(name)?.spec;
      return spec ? selectView(own, spec) : emptyCatalog;
    },
    spec: (name) => virtualServers.get(name)?.spec,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    track(name) {
      if (!seen.has(name)) seen.set(name, digestsOf(name));
    },
  };
}
