import type {
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/server';
import { UriTemplate } from '@modelcontextprotocol/server';
import type { ToolOverride } from '../config/contract.js';
import type { BackendLists } from '../registry/backend.js';
import { definitionHash } from './definition.js';
import type { NamingOptions } from './names.js';
import { exposedName } from './names.js';
import { overridden } from './overrides.js';
import type { PinSource, PinVerdict } from './pins.js';
import { noPins } from './pins.js';
import { listDigest } from './serialized.js';

/** Where an exposed name leads: a backend and the name that backend knows. */
export interface Route {
  backend: string;
  name: string;
}

export type CatalogKind = 'tool' | 'prompt' | 'resource' | 'resourceTemplate';

export interface Collision {
  kind: CatalogKind;
  /** The exposed name or URI both backends wanted. */
  exposed: string;
  /** The backend registered first, which keeps it. */
  keptBy: string;
  droppedFrom: string;
}

export interface TemplateRoute {
  backend: string;
  uriTemplate: string;
  template: UriTemplate;
}

/** One backend's contribution, in registration order. */
export interface CatalogSource {
  backend: string;
  prefix: string;
  /** Filters on original names (before overrides). */
  includeTool: (name: string) => boolean;
  lists: BackendLists;
  /** Keyed by original name. */
  overrides?: Record<string, ToolOverride> | undefined;
  /** Whether a tool's definition hash may be listed (pins.ts); default: every tool may. */
  pinVerdict?: (original: string, hash: string) => PinVerdict;
  /**
   * What the backend's tool stages depend on besides its tool list (its spec's tool settings,
   * its pin records' revision…), compared by identity: a builder reuses the backend's tools from
   * the previous build when the list and every stamp are the same (see createCatalogBuilder).
   * Without one, the backend's tools are computed again on every build.
   */
  stamp?: readonly unknown[];
}

/** One tool of one backend through overrides, filters and pins, before collisions. */
interface ToolCandidate {
  original: string;
  hash: string;
  /** Null when filtered out. */
  exposed: string | null;
  verdict: PinVerdict;
  /** The tool as listed under `exposed`: kept across builds, so its serialisation is too. */
  listed: Tool | null;
}

interface ToolPart {
  tools: readonly Tool[];
  prefix: string;
  stamp: readonly unknown[] | undefined;
  candidates: ToolCandidate[];
}

/**
 * What became of one tool a backend lists: `listed`; `filtered` by include/exclude; `collision`
 * (another backend holds the exposed name); `drifted` (definition differs from its pin) or `held`
 * (no pin under --pin-policy strict): both withheld from clients.
 */
export type ToolState = 'listed' | 'filtered' | 'collision' | 'drifted' | 'held';

export interface ToolEntry {
  backend: string;
  /** The name the backend knows. */
  original: string;
  /** The name clients see or would see; null when filtered out. */
  exposed: string | null;
  /** `sha256:…` of the definition as the backend sent it (before overrides). */
  hash: string;
  state: ToolState;
  pin: string | null;
  pinSource: PinSource | null;
}

/**
 * Everything clients see, with the routing table beside it. Built in one pass from the
 * ready backends and swapped whole, so a request never sees half a rebuild; routing never
 * parses names.
 */
export interface Catalog {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  toolRoutes: ReadonlyMap<string, Route>;
  promptRoutes: ReadonlyMap<string, Route>;
  resourceRoutes: ReadonlyMap<string, string>;
  templateRoutes: readonly TemplateRoute[];
  collisions: Collision[];
  /** Every tool of every ready backend, in order, with its hash and what became of it. */
  toolEntries: ToolEntry[];
  /** Drifted or held tools by exposed name: not listed, and calls to them are refused with why. */
  withheld: ReadonlyMap<string, ToolEntry>;
  /** Per kind, a digest of what clients see: a changed digest means `list_changed`. */
  digests: Record<'tools' | 'prompts' | 'resources', string>;
}

export const emptyCatalog: Catalog = buildCatalog([], { separator: '__', maxLength: 64 });

/** Builds catalogs from scratch each time (tests, one-off views). */
export function buildCatalog(sources: CatalogSource[], naming: NamingOptions): Catalog {
  return createCatalogBuilder(naming)(sources);
}

const sameStamp = (a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);

function toolCandidates(source: CatalogSource, naming: NamingOptions): ToolCandidate[] {
  const { prefix, includeTool, lists, overrides, pinVerdict = noPins } = source;
  return lists.tools.map((tool): ToolCandidate => {
    const hash = definitionHash(tool);
    if (!includeTool(tool.name)) {
      return { original: tool.name, hash, exposed: null, verdict: { state: 'none' }, listed: null };
    }
    const shown = overridden(tool, overrides?.[tool.name]);
    const verdict = pinVerdict(tool.name, hash);
    const exposed = exposedName(prefix, shown.name, naming);
    return { original: tool.name, hash, exposed, verdict, listed: { ...shown, name: exposed } };
  });
}

/**
 * A catalog builder that remembers each backend's tools through overrides, filters, pins and
 * prefixing (hashing, renaming, copying), keyed by the backend's tool list and its stamp: after
 * one backend changes, only its part is computed again, and every other backend's listed tools
 * are the same objects as before (so their serialisations are reused too, see serialized.ts).
 * Collisions and the routing table are a pass over the parts, in registration order.
 */
export function createCatalogBuilder(naming: NamingOptions): (sources: CatalogSource[]) => Catalog {
  let parts = new Map<string, ToolPart>();
  return (sources) => {
    const next = new Map<string, ToolPart>();
    const partOf = (source: CatalogSource): ToolPart => {
      const before = parts.get(source.backend);
      if (
        before &&
        before.tools === source.lists.tools &&
        before.prefix === source.prefix &&
        sameStamp(before.stamp, source.stamp)
      ) {
        next.set(source.backend, before);
        return before;
      }
      const part: ToolPart = {
        tools: source.lists.tools,
        prefix: source.prefix,
        stamp: source.stamp,
        candidates: toolCandidates(source, naming),
      };
      next.set(source.backend, part);
      return part;
    };
    const catalog = assemble(sources, partOf, naming);
    parts = next;
    return catalog;
  };
}

function assemble(
  sources: CatalogSource[],
  partOf: (source: CatalogSource) => ToolPart,
  naming: NamingOptions,
): Catalog {
  const collisions: Collision[] = [];
  const claim = <V>(
    table: Map<string, V>,
    kind: CatalogKind,
    key: string,
    value: V,
    backend: string,
    ownerOf: (v: V) => string,
  ): boolean => {
    const held = table.get(key);
    if (held !== undefined) {
      collisions.push({ kind, exposed: key, keptBy: ownerOf(held), droppedFrom: backend });
      return false;
    }
    table.set(key, value);
    return true;
  };

  const tools: Tool[] = [];
  const prompts: Prompt[] = [];
  const resources: Resource[] = [];
  const resourceTemplates: ResourceTemplate[] = [];
  const toolRoutes = new Map<string, Route>();
  const toolEntries: ToolEntry[] = [];
  const withheld = new Map<string, ToolEntry>();
  // A withheld tool keeps its exposed name, so no other backend's tool takes its place (and its
  // calls) while it waits for approval.
  const toolNames = new Map<string, Route>();
  const promptRoutes = new Map<string, Route>();
  const resourceRoutes = new Map<string, string>();
  const templateOwners = new Map<string, string>();
  const templateRoutes: TemplateRoute[] = [];
  const routeOwner = (route: Route): string => route.backend;
  const self = (backend: string): string => backend;

  for (const source of sources) {
    const { backend, prefix, lists } = source;
    // Stages per tool (in the part): overrides → filters → pins → prefixing; then collisions here.
    for (const candidate of partOf(source).candidates) {
      const { original, hash, exposed, verdict, listed } = candidate;
      const matched = verdict.state === 'match' || verdict.state === 'drifted';
      const entry: ToolEntry = {
        backend,
        original,
        exposed,
        hash,
        state: 'filtered',
        pin: matched ? verdict.pin : null,
        pinSource: matched ? verdict.source : null,
      };
      toolEntries.push(entry);
      if (exposed === null || listed === null) continue;
      if (!claim(toolNames, 'tool', exposed, { backend, name: original }, backend, routeOwner)) {
        entry.state = 'collision';
        continue;
      }
      if (verdict.state === 'drifted' || verdict.state === 'held') {
        entry.state = verdict.state;
        withheld.set(exposed, entry);
        continue;
      }
      entry.state = 'listed';
      toolRoutes.set(exposed, { backend, name: original });
      tools.push(listed);
    }
    for (const prompt of lists.prompts) {
      const name = exposedName(prefix, prompt.name, naming);
      if (claim(promptRoutes, 'prompt', name, { backend, name: prompt.name }, backend, routeOwner)) {
        prompts.push({ ...prompt, name });
      }
    }
    // URIs are identities: never rewritten, first backend to list one owns it.
    for (const resource of lists.resources) {
      if (claim(resourceRoutes, 'resource', resource.uri, backend, backend, self)) resources.push(resource);
    }
    for (const template of lists.resourceTemplates) {
      if (claim(templateOwners, 'resourceTemplate', template.uriTemplate, backend, backend, self)) {
        resourceTemplates.push(template);
        templateRoutes.push({
          backend,
          uriTemplate: template.uriTemplate,
          template: new UriTemplate(template.uriTemplate),
        });
      }
    }
  }

  return {
    tools,
    prompts,
    resources,
    resourceTemplates,
    toolRoutes,
    promptRoutes,
    resourceRoutes,
    templateRoutes,
    collisions,
    toolEntries,
    withheld,
    digests: {
      tools: listDigest(tools),
      prompts: listDigest(prompts),
      resources: listDigest(resources, resourceTemplates),
    },
  };
}

/** The backend that serves `uri`: a listed resource first, then the first template that matches. */
export function routeResource(catalog: Catalog, uri: string): string | undefined {
  const listed = catalog.resourceRoutes.get(uri);
  if (listed !== undefined) return listed;
  return catalog.templateRoutes.find((route) => route.template.match(uri) !== null)?.backend;
}
