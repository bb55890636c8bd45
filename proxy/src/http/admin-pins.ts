import { z } from 'zod';
import type { ToolEntry } from '../catalog/catalog.js';
import { definitionHash } from '../catalog/definition.js';
import { ToolPinSchema } from '../config/contract.js';
import { ConfigError, formatZodIssues } from '../config/index.js';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { Proxy } from '../proxy.js';
import type { Backend } from '../registry/backend.js';
import { RequestError } from './admin-requests.js';

// Pinned tool definitions on the admin API: per-tool hashes in every backend status, and
// `POST /mcp_servers/{name}/pins` to approve definitions (a new pin un-quarantines a tool).

/** One tool of a backend as the admin API shows it (see catalog.ts ToolEntry). */
export interface ToolDefinitionStatus {
  name: string;
  exposed: string | null;
  hash: string;
  state: ToolEntry['state'];
  pin: string | null;
  pinSource: ToolEntry['pinSource'];
}

export function toolDefinitionsOf(proxy: Proxy, backend: string): ToolDefinitionStatus[] {
  const entries = proxy.catalog.current().toolEntries.filter((entry) => entry.backend === backend);
  // A tool withheld from some client's own view (a private list) shows as withheld here, in place
  // of what the shared list has under its name: that is what someone must look at.
  for (const entry of proxy.catalog.withheld()) {
    if (entry.backend !== backend) continue;
    const at = entries.findIndex((e) => e.original === entry.original);
    if (at === -1) entries.push(entry);
    else entries[at] = entry;
  }
  return entries.map((entry) => ({
    name: entry.original,
    exposed: entry.exposed,
    hash: entry.hash,
    state: entry.state,
    pin: entry.pin,
    pinSource: entry.pinSource,
  }));
}

const ToolNameSchema = z.string().min(1, 'a tool name must not be empty').max(256);

/**
 * `pins` sets hashes explicitly (e.g. one a reviewer computed); `approveCurrent` takes the hash each
 * named tool has right now. Both name tools by their original names.
 */
export const ApprovePinsSchema = z
  .strictObject(
    {
      pins: z.record(ToolNameSchema, ToolPinSchema).optional(),
      approveCurrent: z.array(ToolNameSchema).min(1, 'approveCurrent lists at least one tool').optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; the body has "pins" ({"<tool>": "sha256:…"}) and/or "approveCurrent" (["<tool>", …])`
          : undefined,
    },
  )
  .refine((body) => body.pins !== undefined || body.approveCurrent !== undefined, {
    error: 'send "pins" ({"<tool>": "sha256:…"}) and/or "approveCurrent" (["<tool>", …])',
  });

export interface Approved {
  tool: string;
  hash: string;
  previous: string | null;
  /** False when the hash approved is not the definition the backend serves now (a pre-approval). */
  matchesCurrent: boolean;
}

/** Validates and records an approval; throws RequestError/ConfigError with what to fix. */
export function approvePins(proxy: Proxy, backend: Backend, body: unknown, log: Logger): Approved[] {
  const parsed = ApprovePinsSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) throw new ConfigError('invalid pins request body', formatZodIssues(parsed.error, ''));
  if (backend.state !== 'ready') {
    throw new RequestError(
      409,
      `backend "${backend.name}" is ${backend.state}: its tools are unknown until it is ready; try again then`,
    );
  }
  const listed = new Map(backend.lists.tools.map((tool) => [tool.name, definitionHash(tool)]));
  // A tool withheld from a client's own view (a private list) is approved as that client was shown
  // it: the shared list may lack it, or list it with another definition.
  for (const entry of proxy.catalog.withheld()) {
    if (entry.backend === backend.name) listed.set(entry.original, entry.hash);
  }
  const names = [...listed.keys()];
  const requested: Record<string, string> = { ...parsed.data.pins };
  const issues: string[] = [];
  const check = (field: string, tool: string): boolean => {
    if (listed.has(tool)) return true;
    issues.push(
      `${field}: backend "${backend.name}" lists no tool "${tool}" (use original names: ${names.slice(0, 20).join(', ') || 'none'})`,
    );
    return false;
  };
  for (const tool of Object.keys(requested)) check(`pins.${tool}`, tool);
  parsed.data.approveCurrent?.forEach((tool, i) => {
    const current = listed.get(tool);
    if (check(`approveCurrent[${i}]`, tool) && current) requested[tool] = current;
  });
  if (issues.length > 0) throw new RequestError(400, 'cannot approve pins', issues);
  // GitOps owns a pin written in the spec: an API call must not quietly outrank a reviewed change.
  const specPins = backend.spec.tools?.pins ?? {};
  const owned = Object.keys(requested).filter(
    (tool) => specPins[tool] !== undefined && specPins[tool] !== requested[tool],
  );
  if (owned.length > 0) {
    throw new RequestError(
      409,
      `the pin of ${owned.map((t) => `"${t}"`).join(', ')} is set in backend "${backend.name}"'s definition ` +
        `(owner "${backend.owner}"), which wins over approvals; change tools.pins there (spec.tools.pins for an McpServer)`,
    );
  }
  const previous = proxy.pins.approve(backend.name, requested);
  proxy.catalog.refresh();
  const approved = Object.entries(requested).map(([tool, hash]) => {
    return {
      tool,
      hash,
      previous: previous[tool] ?? null,
      matchesCurrent: listed.get(tool) === hash,
    };
  });
  for (const a of approved) {
    log.info(`tool definition approved: "${a.tool}"`, {
      [Field.backend]: backend.name,
      tool: a.tool,
      hash: a.hash,
      previous: a.previous ?? undefined,
    });
  }
  return approved;
}

/** What `POST /mcp_servers/{name}/pins` takes, for the error a caller without a body gets. */
export const PIN_BODY_SHAPE = '{"approveCurrent": ["<tool>"]} or {"pins": {"<tool>": "sha256:…"}}';
