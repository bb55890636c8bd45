import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Backend, BackendLists } from '../registry/backend.js';
import type { Registry } from '../registry/registry.js';
import type { Catalog, CatalogSource, ToolEntry } from './catalog.js';
import { buildCatalog, createCatalogBuilder, emptyCatalog } from './catalog.js';
import { definitionDiff } from './definition.js';
import { toolFilter } from './filter.js';
import type { NamingOptions } from './names.js';
import { unusedOverrides } from './overrides.js';
import type { PinBook } from './pins.js';

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
  /** Rebuilds now (after pins were approved: nothing in the registry changed). */
  refresh(): void;
  /**
   * The catalog as one client sees it when some backends' lists were fetched for that client
   * (a modern backend's `cacheScope: private` lists, never shared): the same pipeline, with
   * those backends' lists replaced.
   */
  viewWith(era: ClientEra, replaced: ReadonlyMap<string, Partial<BackendLists>>): Catalog;
  /**
   * Every tool pins keep from clients, one entry per backend and original name: the shared
   * catalog's, and those withheld from a client's own view (a private list's tool the shared
   * lists do not have, or have with another definition), as last judged.
   */
  withheld(): ToolEntry[];
}

/**
 * Keeps the catalog in step with the registry: every registry change rebuilds it from the
 * ready backends and swaps it in one assignment. Answering a list never calls a backend.
 */
export function createCatalogStore(
  registry: Registry,
  naming: NamingOptions,
  log: Logger,
  pins: PinBook,
): CatalogStore {
  let current = emptyCatalog;
  let legacy = emptyCatalog;
  const listeners = new Set<(change: CatalogChange) => void>();
  const reported = new Set<string>();
  /** Withheld tools already logged (state, backend, tool, hash): a rebuild does not repeat the line. */
  let withheldSeen = new Set<string>();
  /**
   * Tools withheld from some client's own view, by backend and original name. Private lists are
   * fetched per client and never kept, so this is what status, metrics and approvals know of them;
   * an entry goes when a client's list shows the tool again, or when a rebuild (an approval, a
   * backend change) no longer finds a reason to withhold it.
   */
  const privatelyWithheld = new Map<string, ToolEntry>();

  // One builder per era: each reuses an unchanged backend's tools from its previous build.
  const builders: Record<ClientEra, (sources: CatalogSource[]) => Catalog> = {
    modern: createCatalogBuilder(naming),
    legacy: createCatalogBuilder(naming),
  };
  // Compiled globs per spec (a spec is replaced, never edited, when a backend is updated).
  const filters = new WeakMap<object, (name: string) => boolean>();
  const includeOf = (tools: Backend['spec']['tools']): ((name: string) => boolean) => {
    if (tools === undefined) return toolFilter(undefined);
    let filter = filters.get(tools);
    if (!filter) filters.set(tools, (filter = toolFilter(tools)));
    return filter;
  };

  const sourcesOf = (
    era: ClientEra,
    replaced?: ReadonlyMap<string, Partial<BackendLists>>,
  ): CatalogSource[] =>
    registry
      .backends()
      .filter((backend) => backend.state === 'ready')
      .map((backend) => {
        const lists = era === 'legacy' ? (backend.legacyLists ?? backend.lists) : backend.lists;
        const tools = backend.spec.tools;
        return {
          backend: backend.name,
          prefix: backend.spec.prefix ?? backend.name,
          includeTool: includeOf(tools),
          lists: { ...lists, ...replaced?.get(backend.name) },
          overrides: tools?.overrides,
          pinVerdict: pins.verdictFor(backend.name, tools?.pins),
          // What the tool stages read besides the list: the spec's tool settings and the pin records.
          stamp: [tools, pins.revision(backend.name)],
        };
      });

  /** Overrides naming no tool, and filters written against an override's new name: logged once. */
  const warnAboutOverrides = (backend: Backend): void => {
    const tools = backend.spec.tools;
    for (const name of unusedOverrides(backend.lists.tools, tools?.overrides)) {
      const key = `override:${backend.name}:${name}`;
      if (reported.has(key)) continue;
      reported.add(key);
      log.warn(`tools.overrides names "${name}", which the backend does not list (keys are original names)`, {
        [Field.backend]: backend.name,
      });
    }
    const includeTool = includeOf(tools);
    for (const [original, override] of Object.entries(tools?.overrides ?? {})) {
      // The likely mistake: a filter written against the new name. Filters see original names.
      if (override.name === undefined || includeTool(original) || !includeTool(override.name)) continue;
      const key = `filter:${backend.name}:${original}`;
      if (reported.has(key)) continue;
      reported.add(key);
      log.warn(
        `tool "${original}" (renamed "${override.name}" by tools.overrides) is filtered out: tools.include/exclude match original names`,
        { [Field.backend]: backend.name },
      );
    }
  };

  const rebuild = (): void => {
    const ready = registry.backends().filter((backend) => backend.state === 'ready');
    for (const backend of ready) {
      // First sightings are recorded before the verdicts are taken. A twin's 2025-era list adds
      // the tools only 2025 clients are shown; a name in both is pinned by its modern definition.
      pins.observe(backend.name, backend.lists.tools);
      if (backend.legacyLists) pins.observe(backend.name, backend.legacyLists.tools);
      warnAboutOverrides(backend);
    }
    const next = builders.modern(sourcesOf('modern'));
    const nextLegacy = ready.some((b) => b.legacyLists !== undefined)
      ? builders.legacy(sourcesOf('legacy'))
      : next;
    withheldSeen = reportWithheld(next, withheldSeen, pins, log);
    rejudgePrivate();
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

  /** Records what a client's own view withholds of its private tool lists, reporting what is new. */
  const notePrivate = (own: Catalog, replaced: ReadonlyMap<string, Partial<BackendLists>>): void => {
    for (const entry of own.toolEntries) {
      if (!replaced.get(entry.backend)?.tools) continue;
      const key = keyOf(entry);
      if (entry.state !== 'drifted' && entry.state !== 'held') {
        privatelyWithheld.delete(key);
        continue;
      }
      const before = privatelyWithheld.get(key);
      privatelyWithheld.set(key, entry);
      const reported = before?.state === entry.state && before.hash === entry.hash;
      if (!reported && !withheldSeen.has(reportKey(entry))) reportEntry(entry, pins, log);
    }
  };

  /** After a rebuild: a privately withheld tool whose backend went, or that now has a matching pin, is withheld no more. */
  const rejudgePrivate = (): void => {
    for (const [key, entry] of privatelyWithheld) {
      const backend = registry.get(entry.backend);
      if (backend?.state !== 'ready' || !backend.privateKinds().includes('tools')) {
        privatelyWithheld.delete(key);
        continue;
      }
      const verdict = pins.verdictFor(backend.name, backend.spec.tools?.pins)(entry.original, entry.hash);
      if (verdict.state === 'drifted') {
        privatelyWithheld.set(key, {
          ...entry,
          state: 'drifted',
          pin: verdict.pin,
          pinSource: verdict.source,
        });
      } else if (verdict.state !== 'held') {
        privatelyWithheld.delete(key);
      }
    }
  };

  return {
    current: (era = 'modern') => (era === 'legacy' ? legacy : current),
    viewWith: (era, replaced) => {
      // A private list is judged like a shared one: first sightings recorded, then the verdicts.
      for (const [backend, lists] of replaced) if (lists.tools) pins.observe(backend, lists.tools);
      const own = buildCatalog(sourcesOf(era, replaced), naming);
      notePrivate(own, replaced);
      return own;
    },
    withheld: () => {
      const entries = new Map<string, ToolEntry>();
      for (const entry of current.withheld.values()) entries.set(keyOf(entry), entry);
      for (const [key, entry] of privatelyWithheld) if (!entries.has(key)) entries.set(key, entry);
      return [...entries.values()];
    },
    refresh: rebuild,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const keyOf = (entry: ToolEntry): string => `${entry.backend}\0${entry.original}`;
const reportKey = (entry: ToolEntry): string =>
  `${entry.state}\0${entry.backend}\0${entry.original}\0${entry.hash}`;

/** Logs each newly withheld tool of the shared catalog once (see reportEntry). */
function reportWithheld(
  catalog: Catalog,
  before: ReadonlySet<string>,
  pins: PinBook,
  log: Logger,
): Set<string> {
  const now = new Set<string>();
  for (const entry of catalog.withheld.values()) {
    const key = reportKey(entry);
    now.add(key);
    if (!before.has(key)) reportEntry(entry, pins, log);
  }
  return now;
}

/** One line per withheld tool (a drift with a diff of what changed), and a count per drift. */
function reportEntry(entry: ToolEntry, pins: PinBook, log: Logger): void {
  const fields = {
    [Field.backend]: entry.backend,
    tool: entry.original,
    exposed: entry.exposed ?? undefined,
  };
  if (entry.state === 'held') {
    log.info(`tool "${entry.original}" held back: it has no pin (--pin-policy strict)`, {
      ...fields,
      hash: entry.hash,
    });
    return;
  }
  pins.countDrift(entry.backend);
  // Every definition judged was observed first, so the book knows the current one by its hash.
  const current = pins.definitionFor(entry.backend, entry.original, entry.hash);
  const pinned =
    entry.pin === null ? undefined : pins.definitionFor(entry.backend, entry.original, entry.pin);
  const changes =
    current && pinned
      ? definitionDiff(pinned, current)
          .map((c) => `${c.field}: ${c.before} -> ${c.after}`)
          .join('; ')
      : 'the pinned definition was never seen by this proxy; only its hash is known';
  log.warn(`tool definition changed: "${entry.original}" no longer matches its pin and is quarantined`, {
    ...fields,
    pin: entry.pin ?? undefined,
    pinSource: entry.pinSource ?? undefined,
    hash: entry.hash,
    changed: changes,
  });
}
