import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { Catalog, CatalogSource } from './catalog.js';
import { buildCatalog, emptyCatalog } from './catalog.js';
import { definitionDiff, definitionOf } from './definition.js';
import { toolFilter } from './filter.js';
import type { NamingOptions } from './names.js';
import { unusedOverrides } from './overrides.js';
import type { PinBook } from './pins.js';

export interface CatalogChange {
  tools: boolean;
  prompts: boolean;
  resources: boolean;
}

export interface CatalogStore {
  current(): Catalog;
  onChange(listener: (change: CatalogChange) => void): () => void;
  /** Rebuilds now (after pins were approved: nothing in the registry changed). */
  refresh(): void;
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
  const listeners = new Set<(change: CatalogChange) => void>();
  const reported = new Set<string>();
  /** Withheld tools already logged (state, backend, tool, hash): a rebuild does not repeat the line. */
  let withheldSeen = new Set<string>();

  const rebuild = (): void => {
    const sources: CatalogSource[] = registry
      .backends()
      .filter((backend) => backend.state === 'ready')
      .map((backend) => {
        pins.observe(backend.name, backend.lists.tools);
        const tools = backend.spec.tools;
        for (const name of unusedOverrides(backend.lists.tools, tools?.overrides)) {
          const key = `override:${backend.name}:${name}`;
          if (reported.has(key)) continue;
          reported.add(key);
          log.warn(
            `tools.overrides names "${name}", which the backend does not list (keys are original names)`,
            {
              [Field.backend]: backend.name,
            },
          );
        }
        const includeTool = toolFilter(tools);
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
        return {
          backend: backend.name,
          prefix: backend.spec.prefix ?? backend.name,
          includeTool,
          lists: backend.lists,
          overrides: tools?.overrides,
          pinVerdict: pins.verdictFor(backend.name, tools?.pins),
        };
      });
    const next = buildCatalog(sources, naming);
    withheldSeen = reportWithheld(next, withheldSeen, registry, pins, log);
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
    refresh: rebuild,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Logs each newly withheld tool once (a drift with a diff of what changed) and counts drifts. */
function reportWithheld(
  catalog: Catalog,
  before: ReadonlySet<string>,
  registry: Registry,
  pins: PinBook,
  log: Logger,
): Set<string> {
  const now = new Set<string>();
  for (const entry of catalog.withheld.values()) {
    const key = `${entry.state}\0${entry.backend}\0${entry.original}\0${entry.hash}`;
    now.add(key);
    if (before.has(key)) continue;
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
      continue;
    }
    pins.countDrift(entry.backend);
    const tool = registry.get(entry.backend)?.lists.tools.find((t) => t.name === entry.original);
    const pinned =
      entry.pin === null ? undefined : pins.definitionFor(entry.backend, entry.original, entry.pin);
    const changes =
      tool && pinned
        ? definitionDiff(pinned, definitionOf(tool))
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
  return now;
}
