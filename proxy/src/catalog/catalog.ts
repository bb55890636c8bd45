import { createHash } from 'node:crypto';
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

export function buildCatalog(sources: CatalogSource[], naming: NamingOptions): Catalog {
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

  for (const { backend, prefix, includeTool, lists, overrides, pinVerdict = noPins } of sources) {
    // Stages per tool: overrides → filters → pins → prefixing and collisions.
    for (const tool of lists.tools) {
      const hash = definitionHash(tool);
      const entry: ToolEntry = {
        backend,
        original: tool.name,
        exposed: null,
        hash,
        state: 'filtered',
        pin: null,
        pinSource: null,
      };
      toolEntries.push(entry);
      const shown = overridden(tool, overrides?.[tool.name]);
      if (!includeTool(tool.name)) continue;
      const verdict = pinVerdict(tool.name, hash);
      if (verdict.state === 'match' || verdict.state === 'drifted') {
        entry.pin = verdict.pin;
        entry.pinSource = verdict.source;
      }
      const name = exposedName(prefix, shown.name, naming);
      entry.exposed = name;
      if (!claim(toolNames, 'tool', name, { backend, name: tool.name }, backend, routeOwner)) {
        entry.state = 'collision';
        continue;
      }
      if (verdict.state === 'drifted' || verdict.state === 'held') {
        entry.state = verdict.state;
        withheld.set(name, entry);
        continue;
      }
      entry.state = 'listed';
      toolRoutes.set(name, { backend, name: tool.name });
      tools.push({ ...shown, name });
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
      tools: digestOf(tools),
      prompts: digestOf(prompts),
      resources: digestOf([resources, resourceTemplates]),
    },
  };
}

/** The backend that serves `uri`: a listed resource first, then the first template that matches. */
export function routeResource(catalog: Catalog, uri: string): string | undefined {
  const listed = catalog.resourceRoutes.get(uri);
  if (listed !== undefined) return listed;
  return catalog.templateRoutes.find((route) => route.template.match(uri) !== null)?.backend;
}

export function digestOf(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('base64url');
}
