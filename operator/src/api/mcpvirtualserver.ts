import { ToolFilterSchema } from '@multi-mcp/proxy/contract';
import { z } from 'zod';
import { ConditionSchema, GROUP, VERSION, API_VERSION } from './mcpserver.js';

// The McpVirtualServer custom resource (multi-mcp.io/v1alpha1): a named selection of the catalog,
// served by every proxy replica at /mcp/<ns>_<name> and /sse/<ns>_<name>. Like McpServer this
// module is the single source of the contract: the CRD is generated from it (virtual-crd.ts).

export const VIRTUAL_KIND = 'McpVirtualServer';
export const VIRTUAL_PLURAL = 'mcpvirtualservers';
export const VIRTUAL_SINGULAR = 'mcpvirtualserver';
export const VIRTUAL_SHORT_NAMES = ['mcpvs'];
export { API_VERSION, GROUP, VERSION };

const MAX_ITEMS = 256;
// An McpServer in this namespace ("name") or another ("namespace/name"): DNS labels and subdomains.
const McpServerRefSchema = z
  .string()
  .max(317)
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    'an McpServer reference is "name" (this namespace) or "namespace/name"',
  );
const ScopeSchema = z
  .string()
  .max(256)
  .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is one token of visible ASCII without spaces, " or \\');

export const McpVirtualServerSpecSchema = z.object({
  backends: z
    .array(McpServerRefSchema)
    .max(MAX_ITEMS)
    .optional()
    .describe(
      'McpServers whose tools, prompts and resources this view shows ("name" or "namespace/name"); default: all',
    ),
  tools: ToolFilterSchema.optional().describe('glob patterns on EXPOSED tool names (<prefix>__<tool>)'),
  scopes: z.array(ScopeSchema).max(64).optional().describe('OAuth scopes every client token must carry'),
  claims: z
    .record(z.string().min(1).max(256), z.array(z.string().min(1).max(1024)).min(1).max(64))
    .optional()
    .describe(
      'token claims that must match: each claim must equal one of the listed values (an array claim must contain one)',
    ),
});
export type McpVirtualServerSpec = z.output<typeof McpVirtualServerSpecSchema>;

export const McpVirtualServerStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  conditions: z.array(ConditionSchema).max(16).optional(),
  virtualServerName: z.string().max(64).optional().describe('the name of this view on the proxy replicas'),
  endpoint: z.string().max(128).optional().describe('Streamable HTTP path on every proxy replica'),
  sseEndpoint: z.string().max(128).optional().describe('legacy SSE path on every proxy replica'),
  backends: z
    .array(z.string().max(64))
    .max(MAX_ITEMS)
    .optional()
    .describe('the proxy backend names it selects'),
  synced: z.string().max(32).optional().describe('"<synced>/<total>" proxy replicas'),
  lastError: z.string().max(32768).optional(),
});
export type McpVirtualServerStatus = z.output<typeof McpVirtualServerStatusSchema>;

const MetadataSchema = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
});

export const McpVirtualServerSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(VIRTUAL_KIND),
  metadata: MetadataSchema,
  // Every key is optional, so an empty (or missing) spec is a view of everything.
  spec: McpVirtualServerSpecSchema.default({}),
  status: McpVirtualServerStatusSchema.optional(),
});
export type McpVirtualServer = z.output<typeof McpVirtualServerSchema>;
