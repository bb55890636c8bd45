import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { ConfigError, formatZodIssues } from '../config/errors.js';
import type { VirtualServerSpec } from '../config/virtual.js';
import { VirtualServerNameSchema, VirtualServerSpecSchema, VirtualServersSchema } from '../config/virtual.js';
import type { VirtualServerEntry } from '../catalog/virtual-servers.js';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Proxy } from '../proxy.js';
import {
  OWNER_HEADER,
  OwnerSchema,
  RequestError,
  RevisionSchema,
  answerError,
  nameFrom,
  ownerFrom,
  requireBody,
} from './admin-requests.js';

/** `PUT /virtual_servers`: the complete set of one owner's virtual servers (the operator's sync). */
const SyncBodySchema = z.strictObject({
  owner: OwnerSchema,
  revision: RevisionSchema.optional(),
  virtualServers: VirtualServersSchema,
});

/** How a virtual server looks to an operator: its definition, where it is served and what it shows now. */
export interface VirtualServerStatus {
  name: string;
  owner: string;
  endpoints: { mcp: string; sse: string };
  spec: VirtualServerSpec;
  /** Named backends that are not registered (yet): they show nothing until they are. */
  missingBackends: string[];
  tools: string[];
  prompts: string[];
  resources: number;
}

export function virtualServerStatus(proxy: Proxy, entry: VirtualServerEntry): VirtualServerStatus {
  const view = proxy.views.select(entry.name);
  return {
    name: entry.name,
    owner: entry.owner,
    endpoints: { mcp: `/mcp/${entry.name}`, sse: `/sse/${entry.name}` },
    spec: entry.spec,
    missingBackends: missingBackends(proxy, entry.spec),
    tools: view.tools.map((t) => t.name),
    prompts: view.prompts.map((p) => p.name),
    resources: view.resources.length + view.resourceTemplates.length,
  };
}

/**
 * Unknown backend names are a warning, not an error: backends come and go through other owners
 * (the admin API, the operator, a disabled entry), so a view may name one before it exists.
 */
export function missingBackends(proxy: Proxy, spec: VirtualServerSpec): string[] {
  return (spec.backends ?? []).filter((name) => !proxy.registry.get(name));
}

function warningsFor(proxy: Proxy, name: string, spec: VirtualServerSpec): string[] {
  return missingBackends(proxy, spec).map(
    (backend) =>
      `virtualServers.${name}.backends: no backend named ${JSON.stringify(backend)} is registered (yet); it shows nothing until one is`,
  );
}

function notFound(name: string): RequestError {
  return new RequestError(
    404,
    `no virtual server named "${name}"; GET /virtual_servers lists the defined ones`,
  );
}

/**
 * `GET|PUT /virtual_servers` and `GET|PUT|DELETE /virtual_servers/{name}`, behind the same guards
 * as the rest of the admin API. Owners work as for backends: `X-Multi-MCP-Owner` on single
 * upserts and deletes, `{owner, revision, virtualServers}` for a declarative sync.
 */
export function createVirtualServerRouter(proxy: Proxy, log: Logger, guards: RequestHandler[]): Router {
  const { virtualServers } = proxy;
  const router = Router();
  const adminLog = log.with({ component: 'admin' });
  const handle =
    (work: (req: Request, res: Response) => void): RequestHandler =>
    (req, res) => {
      try {
        work(req, res);
      } catch (error) {
        answerError(res, error, adminLog);
      }
    };

  router.get(
    '/virtual_servers',
    ...guards,
    handle((_req, res) => {
      res.json({ virtualServers: virtualServers.list().map((entry) => virtualServerStatus(proxy, entry)) });
    }),
  );

  router.put(
    '/virtual_servers',
    ...guards,
    handle((req, res) => {
      const parsed = SyncBodySchema.safeParse(requireBody(req, '{"owner", "revision", "virtualServers"}'), {
        reportInput: true,
      });
      if (!parsed.success)
        throw new ConfigError('invalid sync request body', formatZodIssues(parsed.error, ''));
      const { owner, revision } = parsed.data;
      const result = virtualServers.sync(owner, parsed.data.virtualServers);
      const warnings = Object.entries(parsed.data.virtualServers).flatMap(([name, spec]) =>
        warningsFor(proxy, name, spec),
      );
      adminLog.info('virtual servers synced', {
        [Field.owner]: owner,
        revision,
        created: result.created.length,
        updated: result.updated.length,
        removed: result.removed.length,
      });
      res.json({ owner, revision: revision ?? null, ...result, warnings });
    }),
  );

  router.get(
    '/virtual_servers/:name',
    ...guards,
    handle((req, res) => {
      const name = nameFrom(req, VirtualServerNameSchema, 'virtual server');
      const entry = virtualServers.get(name);
      if (!entry) throw notFound(name);
      res.json(virtualServerStatus(proxy, entry));
    }),
  );

  router.put(
    '/virtual_servers/:name',
    ...guards,
    handle((req, res) => {
      const name = nameFrom(req, VirtualServerNameSchema, 'virtual server');
      const owner = ownerFrom(req);
      const parsed = VirtualServerSpecSchema.safeParse(
        requireBody(req, '{"backends": […], "tools": {"include": […]}, "scopes": […], "claims": {…}}'),
        { reportInput: true },
      );
      if (!parsed.success)
        throw new ConfigError(`invalid virtual server ${name}`, formatZodIssues(parsed.error, name));
      const outcome = virtualServers.upsert(owner, name, parsed.data);
      const entry = virtualServers.get(name);
      res.status(outcome === 'created' ? 201 : 200).json({
        name,
        outcome,
        warnings: warningsFor(proxy, name, parsed.data),
        ...(entry && { virtualServer: virtualServerStatus(proxy, entry) }),
      });
    }),
  );

  router.delete(
    '/virtual_servers/:name',
    ...guards,
    handle((req, res) => {
      const name = nameFrom(req, VirtualServerNameSchema, 'virtual server');
      const owner = req.headers[OWNER_HEADER] === undefined ? undefined : ownerFrom(req);
      if (!virtualServers.remove(name, owner)) throw notFound(name);
      res.json({ removed: name });
    }),
  );

  return router;
}
