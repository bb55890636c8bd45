import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { toolFilter } from '../catalog/filter.js';
import type { BackendSpec } from '../config/contract.js';
import {
  BackendNameSchema,
  ConfigError,
  formatZodIssues,
  parseBackendSpec,
  parseMcpJson,
} from '../config/index.js';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Proxy } from '../proxy.js';
import type { Backend } from '../registry/backend.js';
import { OwnershipError } from '../registry/registry.js';
import type { SyncResult } from '../registry/registry.js';
import type { CommandPolicy } from './allow-command.js';
import { anyCommand } from './allow-command.js';
import type { ToolDefinitionStatus } from './admin-pins.js';
import { PIN_BODY_SHAPE, approvePins, toolDefinitionsOf } from './admin-pins.js';
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

export { DEFAULT_API_OWNER, OWNER_HEADER } from './admin-requests.js';

/** `PUT /mcp_servers`: the complete set of one owner's backends (the specs are checked by the config module). */
const SyncBodySchema = z.strictObject({
  owner: OwnerSchema,
  revision: RevisionSchema.optional(),
  mcpServers: z.unknown(),
});

/** How a backend looks to an operator: live state next to its definition, secrets masked. */
export interface BackendStatus {
  name: string;
  owner: string;
  state: string;
  error: string | null;
  since: string;
  restarts: number;
  transport: string | null;
  serverInfo: { name: string; version: string; protocolVersion?: string } | null;
  tools: string[];
  /** Every tool the backend lists, by original name, with its definition hash and pin state. */
  toolDefinitions: ToolDefinitionStatus[];
  /** Original names of tools quarantined because their definition no longer matches their pin. */
  drifted: string[];
  spec: BackendSpec;
}

const REDACTED = '<redacted>';

/** Header and env values are credentials more often than not; URL passwords always are. */
export function redactSpec(spec: BackendSpec): BackendSpec {
  const mask = (values: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.keys(values).map((key) => [key, REDACTED]));
  const copy: Record<string, unknown> = { ...spec };
  if ('env' in spec && spec.env) copy['env'] = mask(spec.env);
  if ('headers' in spec && spec.headers) copy['headers'] = mask(spec.headers);
  if ('url' in spec) {
    try {
      const url = new URL(spec.url);
      if (url.password) {
        url.password = REDACTED;
        copy['url'] = url.toString();
      }
    } catch {
      // Validated before it got here; keep it as is.
    }
  }
  return copy as BackendSpec;
}

export function backendStatus(proxy: Proxy, backend: Backend): BackendStatus {
  const tools: string[] = [];
  for (const [exposed, route] of proxy.catalog.current().toolRoutes) {
    if (route.backend === backend.name) tools.push(exposed);
  }
  const toolDefinitions = toolDefinitionsOf(proxy, backend.name);
  return {
    name: backend.name,
    owner: backend.owner,
    state: backend.state,
    error: backend.error ?? null,
    since: backend.since.toISOString(),
    restarts: backend.restarts,
    transport: backend.transportKind ?? null,
    serverInfo: backend.serverInfo
      ? {
          name: backend.serverInfo.name,
          version: backend.serverInfo.version,
          ...(backend.protocolVersion !== undefined && { protocolVersion: backend.protocolVersion }),
        }
      : null,
    tools,
    toolDefinitions,
    drifted: toolDefinitions.filter((t) => t.state === 'drifted').map((t) => t.name),
    spec: redactSpec(backend.spec),
  };
}

export interface AdminRouterOptions {
  /** Which stdio commands callers may start (`--allow-command`); default any. */
  commandPolicy?: CommandPolicy;
}

/** Python's `repr` of a list of names, as the original multi-mcp printed it: `['a', 'b']`. */
function pythonList(names: string[]): string {
  return `[${names.map((name) => `'${name}'`).join(', ')}]`;
}

/** The admin API: resource-shaped routes over the registry, every error a JSON object with `error`. */
export function createAdminRouter(
  proxy: Proxy,
  log: Logger,
  guards: RequestHandler[],
  options: AdminRouterOptions = {},
): Router {
  const { registry } = proxy;
  const commandPolicy = options.commandPolicy ?? anyCommand;
  /** Refuses the whole request if any of its stdio commands is not allowed, before anything is applied. */
  const checkCommands = (specs: Record<string, BackendSpec>): void => {
    for (const [name, spec] of Object.entries(specs)) {
      const refusal = commandPolicy(name, spec);
      if (refusal) throw new RequestError(403, refusal);
    }
  };
  const router = Router();
  const adminLog = log.with({ component: 'admin' });

  const handle =
    (work: (req: Request, res: Response) => Promise<void> | void): RequestHandler =>
    async (req, res) => {
      try {
        await work(req, res);
      } catch (error) {
        answerError(res, error, adminLog);
      }
    };

  router.get(
    '/mcp_servers',
    ...guards,
    handle((_req, res) => {
      const backends = registry.backends();
      res.json({
        // Seed-compatible field: the names alone.
        active_servers: backends.map((b) => b.name),
        servers: backends.map((b) => backendStatus(proxy, b)),
      });
    }),
  );

  router.post(
    '/mcp_servers',
    ...guards,
    handle(async (req, res) => {
      const owner = ownerFrom(req);
      const config = parseMcpJson(requireBody(req, '{"mcpServers": {…}}'), 'request body');
      if (config.virtualServers !== undefined) {
        // Accepting them here and ignoring them would look like success.
        throw new RequestError(400, 'virtualServers are not added through POST /mcp_servers', [
          'virtualServers: use PUT /virtual_servers/{name} for each, or PUT /virtual_servers for an owner’s whole set',
        ]);
      }
      checkCommands(config.mcpServers);
      // Check every name first so a conflict leaves nothing half-applied.
      for (const name of Object.keys(config.mcpServers)) {
        const existing = registry.get(name);
        if (existing && existing.owner !== owner) throw new OwnershipError(name, existing.owner, owner);
      }
      const result = { created: [] as string[], updated: [] as string[], unchanged: [] as string[] };
      for (const [name, spec] of Object.entries(config.mcpServers)) {
        result[await registry.upsert(owner, name, spec)].push(name);
      }
      const changed = [...result.created, ...result.updated];
      // 200 and "Added [...]" as the original answered (its own lifecycle test checks for 200);
      // servers that were already there with the same definition are left running.
      const unchanged = result.unchanged.length > 0 ? `; unchanged ${pythonList(result.unchanged)}` : '';
      res.status(200).json({
        message: `Added ${pythonList(changed)}${unchanged}`,
        owner,
        ...result,
      });
    }),
  );

  router.put(
    '/mcp_servers',
    ...guards,
    handle(async (req, res) => {
      const parsed = SyncBodySchema.safeParse(requireBody(req, '{"owner", "revision", "mcpServers"}'), {
        reportInput: true,
      });
      if (!parsed.success) {
        throw new ConfigError('invalid sync request body', formatZodIssues(parsed.error, ''));
      }
      const { owner, revision } = parsed.data;
      const config = parseMcpJson({ mcpServers: parsed.data.mcpServers }, 'request body');
      checkCommands(config.mcpServers);
      const result = await registry.sync(owner, config.mcpServers);
      adminLog.info('owner synced', { [Field.owner]: owner, revision, ...countsOf(result) });
      res.json({ owner, revision: revision ?? null, ...result });
    }),
  );

  router.get(
    '/mcp_servers/:name',
    ...guards,
    handle((req, res) => {
      const name = nameFrom(req, BackendNameSchema, 'backend');
      const backend = registry.get(name);
      if (!backend) throw notFound(name);
      res.json(backendStatus(proxy, backend));
    }),
  );

  router.get(
    '/mcp_servers/:name/pins',
    ...guards,
    handle((req, res) => {
      const name = nameFrom(req, BackendNameSchema, 'backend');
      const backend = registry.get(name);
      if (!backend) throw notFound(name);
      res.json({ name, policy: proxy.pins.policy, tools: toolDefinitionsOf(proxy, name) });
    }),
  );

  router.post(
    '/mcp_servers/:name/pins',
    ...guards,
    handle((req, res) => {
      const name = nameFrom(req, BackendNameSchema, 'backend');
      const backend = registry.get(name);
      if (!backend) throw notFound(name);
      const approved = approvePins(proxy, backend, requireBody(req, PIN_BODY_SHAPE), adminLog);
      res.json({ name, approved, tools: toolDefinitionsOf(proxy, name) });
    }),
  );

  router.put(
    '/mcp_servers/:name',
    ...guards,
    handle(async (req, res) => {
      const name = nameFrom(req, BackendNameSchema, 'backend');
      const owner = ownerFrom(req);
      const spec = parseBackendSpec(
        requireBody(req, 'one backend definition ({"command": …} or {"url": …})'),
        name,
      );
      checkCommands({ [name]: spec });
      const outcome = await registry.upsert(owner, name, spec);
      const backend = registry.get(name);
      res.status(outcome === 'created' ? 201 : 200).json({
        name,
        outcome,
        ...(backend && { server: backendStatus(proxy, backend) }),
      });
    }),
  );

  router.delete(
    '/mcp_servers/:name',
    ...guards,
    handle(async (req, res) => {
      const name = nameFrom(req, BackendNameSchema, 'backend');
      const owner = req.headers[OWNER_HEADER] === undefined ? undefined : ownerFrom(req);
      if (!(await registry.remove(name, owner))) throw notFound(name);
      res.json({ removed: name, message: `Server '${name}' removed` });
    }),
  );

  router.get(
    '/mcp_tools',
    ...guards,
    handle((_req, res) => {
      const catalog = proxy.catalog.current();
      // The original's shape: each server's tool names as the server knows them, or why it has none.
      const tools: Record<string, string[] | string> = {};
      for (const backend of registry.backends()) {
        if (backend.state !== 'ready') {
          tools[backend.name] =
            `backend "${backend.name}" is not ready (${backend.state}${backend.error ? `: ${backend.error}` : ''})`;
          continue;
        }
        const include = toolFilter(backend.spec.tools);
        tools[backend.name] = backend.lists.tools.map((tool) => tool.name).filter(include);
      }
      const routes: Record<string, { backend: string; name: string }> = {};
      for (const [exposed, route] of catalog.toolRoutes)
        routes[exposed] = { backend: route.backend, name: route.name };
      // Tools held back by pins (drifted, or unpinned under --pin-policy strict), by exposed name.
      const withheld = proxy.catalog.withheld().map((entry) => ({
        exposed: entry.exposed,
        backend: entry.backend,
        name: entry.original,
        reason: entry.state,
        hash: entry.hash,
        pin: entry.pin,
      }));
      res.json({ tools, routes, collisions: catalog.collisions, withheld });
    }),
  );

  return router;
}

function notFound(name: string): RequestError {
  return new RequestError(404, `no backend named "${name}"; GET /mcp_servers lists the registered ones`);
}

function countsOf(result: SyncResult): Record<keyof SyncResult, number> {
  return {
    created: result.created.length,
    updated: result.updated.length,
    unchanged: result.unchanged.length,
    removed: result.removed.length,
  };
}
