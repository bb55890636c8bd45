import { z } from 'zod';
import type { Proxy } from '../proxy.js';
import { VERSION } from '../version.js';
import { backendStatus } from './admin.js';
import { virtualServerStatus } from './admin-virtual.js';

/**
 * What the status page shows, as one JSON document (`GET /ui/status.json`). It is the page's
 * contract: the page reads nothing else, so the admin API's shapes can move without breaking it.
 * Specs come from `backendStatus`, so env and header values are masked exactly as in the admin API.
 */
export const StatusSummarySchema = z.object({
  version: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number(),
  ready: z.boolean(),
  draining: z.boolean(),
  sessions: z.object({
    /** 2025-era (and older) sessions held by this front door, by transport. */
    sessionful: z.record(z.string(), z.number()),
    /** 2026-07-28 requests are self-contained: the proxy holds no session for them. */
    stateless: z.literal('not held'),
  }),
  backends: z.array(
    z.object({
      name: z.string(),
      owner: z.string(),
      state: z.string(),
      error: z.string().nullable(),
      since: z.string(),
      restarts: z.number(),
      transport: z.string().nullable(),
      serverInfo: z.object({ name: z.string(), version: z.string() }).nullable(),
      counts: z.object({
        tools: z.number(),
        prompts: z.number(),
        resources: z.number(),
        resourceTemplates: z.number(),
      }),
      tools: z.array(z.object({ name: z.string(), original: z.string(), description: z.string() })),
      /** Tools pins keep from clients: `drifted` (definition changed) or `held` (no pin, strict). */
      withheld: z.array(z.object({ name: z.string(), original: z.string(), reason: z.string() })),
      /** The definition with secrets masked: where it runs (command or URL) without what it carries. */
      target: z.string(),
    }),
  ),
  collisions: z.array(
    z.object({ kind: z.string(), exposed: z.string(), keptBy: z.string(), droppedFrom: z.string() }),
  ),
  /** Each virtual server as its clients see it now (counts after filters, collisions and pins). */
  virtualServers: z.array(
    z.object({
      name: z.string(),
      owner: z.string(),
      endpoint: z.string(),
      /** The backends it names; null: every backend. */
      backends: z.array(z.string()).nullable(),
      /** Named backends not registered (yet): they contribute nothing until they are. */
      missingBackends: z.array(z.string()),
      counts: z.object({ tools: z.number(), prompts: z.number(), resources: z.number() }),
      /** What a token must carry there (the names only: claim values are policy, not status). */
      scopes: z.array(z.string()),
      claims: z.array(z.string()),
    }),
  ),
});
export type StatusSummary = z.infer<typeof StatusSummarySchema>;

export interface SummaryInputs {
  startedAt: Date;
  /** Open sessions by transport; absent on a listener that holds none. */
  sessionCounts?: () => Record<string, number>;
}

export function statusSummary(proxy: Proxy, inputs: SummaryInputs): StatusSummary {
  const catalog = proxy.catalog.current();
  const descriptions = new Map(catalog.tools.map((tool) => [tool.name, tool.description ?? '']));
  const count = <V>(routes: Iterable<V>, owner: (v: V) => string, backend: string): number => {
    let n = 0;
    for (const route of routes) if (owner(route) === backend) n++;
    return n;
  };
  const backends = proxy.registry.backends().map((backend) => {
    const status = backendStatus(proxy, backend);
    const tools = status.tools.map((exposed) => ({
      name: exposed,
      original: catalog.toolRoutes.get(exposed)?.name ?? exposed,
      description: descriptions.get(exposed) ?? '',
    }));
    const spec = status.spec;
    const target = 'url' in spec ? spec.url : [spec.command, ...(spec.args ?? [])].join(' ');
    return {
      name: status.name,
      owner: status.owner,
      state: status.state,
      error: status.error,
      since: status.since,
      restarts: status.restarts,
      transport: status.transport,
      serverInfo: status.serverInfo,
      counts: {
        tools: tools.length,
        prompts: count(catalog.promptRoutes.values(), (r) => r.backend, backend.name),
        resources: count(catalog.resourceRoutes.values(), (b) => b, backend.name),
        resourceTemplates: count(catalog.templateRoutes, (r) => r.backend, backend.name),
      },
      tools,
      withheld: proxy.catalog
        .withheld()
        .filter((entry) => entry.backend === backend.name)
        .map((entry) => ({
          name: entry.exposed ?? entry.original,
          original: entry.original,
          reason: entry.state,
        })),
      target,
    };
  });
  return {
    version: VERSION,
    startedAt: inputs.startedAt.toISOString(),
    uptimeSeconds: Math.round((Date.now() - inputs.startedAt.getTime()) / 1000),
    ready: proxy.isReady(),
    draining: proxy.isDraining(),
    sessions: { sessionful: inputs.sessionCounts?.() ?? {}, stateless: 'not held' },
    backends,
    collisions: catalog.collisions.map((c) => ({ ...c })),
    virtualServers: proxy.virtualServers.list().map((entry) => {
      const status = virtualServerStatus(proxy, entry);
      return {
        name: status.name,
        owner: status.owner,
        endpoint: status.endpoints.mcp,
        backends: entry.spec.backends ?? null,
        missingBackends: status.missingBackends,
        counts: { tools: status.tools.length, prompts: status.prompts.length, resources: status.resources },
        scopes: entry.spec.scopes ?? [],
        claims: Object.keys(entry.spec.claims ?? {}),
      };
    }),
  };
}
