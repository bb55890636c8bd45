import { createHash } from 'node:crypto';
import type {
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/server';
import { UriTemplate } from '@modelcontextprotocol/server';
import type { BackendLists } from '../registry/backend.js';
import type { NamingOptions } from './names.js';
import { exposedName } from './names.js';

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
  includeTool: (name: string) => boolean;
  lists: BackendLists;
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
  const promptRoutes = new Map<string, Route>();
  const resourceRoutes = new Map<string, string>();
  const templateOwners = new Map<string, string>();
  const templateRoutes: TemplateRoute[] = [];
  const routeOwner = (route: Route): string => route.backend;
  const self = (backend: string): string => backend;

  for (const { backend, prefix, includeTool, lists } of sources) {
    for (const tool of lists.tools) {
      if (!includeTool(tool.name)) continue;
      const name = exposedName(prefix, tool.name, naming);
      if (claim(toolRoutes, 'tool', name, { backend, name: tool.name }, backend, routeOwner)) {
        tools.push({ ...tool, name });
      }
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
