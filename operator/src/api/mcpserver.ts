import { BackendToolsSchema, HttpUrlSchema, PrefixSchema } from '@multi-mcp/proxy/contract';
import { z } from 'zod';
import type { Invariant } from './cel.js';
import { celExactlyOne, present, withInvariants } from './cel.js';

// The McpServer custom resource (multi-mcp.io/v1alpha1): one mcp.json entry in Kubernetes form.
// This module is the single source of the contract: crds/ is generated from it (see crd.ts) and the
// controller validates what it reads with it. The backend pieces (prefix, tool filters, URL) are the
// proxy's own schemas, so what the API server accepts is what the proxy accepts.

export const GROUP = 'multi-mcp.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'McpServer';
export const PLURAL = 'mcpservers';
export const SINGULAR = 'mcpserver';
export const SHORT_NAMES = ['mcps'];

/** The one finalizer the operator puts on every McpServer it serves. */
export const FINALIZER = 'multi-mcp.io/finalizer';

const MAX_ITEMS = 256;
const MAX_STRING = 4096;

// Kubernetes object names (Secrets, ConfigMaps) are DNS subdomains; keys are at most 253 characters.
const ObjectNameSchema = z.string().min(1).max(253);
const KeySchema = z.string().min(1).max(253);

const KeyRefSchema = z.object({
  name: ObjectNameSchema.describe('name of the object in the McpServer’s namespace'),
  key: KeySchema.describe('key within the object’s data'),
  optional: z.boolean().optional().describe('when true, a missing object or key leaves the variable unset'),
});

export const EnvVarSchema = withInvariants(
  z.object({
    name: z.string().min(1).max(256),
    value: z
      .string()
      .max(MAX_STRING * 8)
      .optional(),
    valueFrom: withInvariants(
      z.object({
        secretKeyRef: KeyRefSchema.optional(),
        configMapKeyRef: KeyRefSchema.optional(),
      }),
      [
        {
          holds: (v) => present(v, ['secretKeyRef', 'configMapKeyRef']).length === 1,
          rule: celExactlyOne(['secretKeyRef', 'configMapKeyRef']),
          message: 'valueFrom needs exactly one of secretKeyRef or configMapKeyRef',
        },
      ],
    ).optional(),
  }),
  [
    {
      holds: (v) => !(v.value !== undefined && v.valueFrom !== undefined),
      rule: '!(has(self.value) && has(self.valueFrom))',
      message: 'set value or valueFrom, not both',
    },
  ],
);

export const HeaderSchema = withInvariants(
  z.object({
    name: z.string().min(1).max(256),
    value: z
      .string()
      .max(MAX_STRING * 8)
      .optional(),
    valueFrom: z.object({ secretKeyRef: KeyRefSchema }).optional(),
  }),
  [
    {
      holds: (v) => present(v, ['value', 'valueFrom']).length === 1,
      rule: celExactlyOne(['value', 'valueFrom']),
      message: 'a header needs exactly one of value or valueFrom.secretKeyRef',
    },
  ],
);

const ResourceListSchema = z.record(z.string().max(253), z.string().max(64));

export const DeploymentSpecSchema = z.object({
  image: z.string().min(1).max(1024).describe('container image of an MCP server that serves HTTP'),
  args: z.array(z.string().max(MAX_STRING)).max(MAX_ITEMS).optional(),
  env: z.array(EnvVarSchema).max(MAX_ITEMS).optional(),
  port: z.int().min(1).max(65535).default(8080).describe('port the server listens on'),
  path: z
    .string()
    .max(1024)
    .regex(/^\//, 'path must start with "/"')
    .default('/mcp')
    .describe('HTTP path of the MCP endpoint'),
  replicas: z.int().min(0).max(100).default(1),
  resources: z
    .object({ limits: ResourceListSchema.optional(), requests: ResourceListSchema.optional() })
    .optional()
    .describe('container resources, quantities as strings ("500m", "128Mi")'),
});

export const TRANSPORTS = ['auto', 'streamable-http', 'sse'] as const;

/** The three ways to run a server; exactly one is set. */
export const MODES = ['command', 'url', 'deployment'] as const;
export type Mode = (typeof MODES)[number];

const STDIO_ONLY = ['args', 'env', 'cwd'] as const;
const REMOTE_ONLY = ['transport', 'headers'] as const;

const onlyWith = (field: string, mode: Mode, what: string): Invariant<Record<string, unknown>> => ({
  holds: (v) => v[field] === undefined || v[mode] !== undefined,
  rule: `!has(self.${field}) || has(self.${mode})`,
  message: `${field} is only for ${what} (spec.${mode})`,
  fieldPath: `.${field}`,
  path: [field],
});

/** Same message the proxy gives for a bad prefix; the rule is the proxy's own pattern. */
function prefixInvariant(): Invariant<{ prefix?: string | undefined }> {
  const pattern = (z.toJSONSchema(PrefixSchema) as { pattern?: string }).pattern;
  if (pattern === undefined) throw new Error('PrefixSchema has no pattern to turn into a CEL rule');
  const message = PrefixSchema.safeParse(' ').error?.issues[0]?.message ?? `prefix must match ${pattern}`;
  return {
    holds: (v) => v.prefix === undefined || PrefixSchema.safeParse(v.prefix).success,
    rule: `!has(self.prefix) || self.prefix.matches('${pattern}')`,
    message,
    fieldPath: '.prefix',
    path: ['prefix'],
  };
}

const URL_MESSAGE = 'url must be an absolute http:// or https:// URL';

const SpecObjectSchema = z.object({
  // stdio: a program run inside the proxy pods.
  command: z.string().min(1).max(MAX_STRING).optional().describe('program run inside the proxy pods (stdio)'),
  args: z.array(z.string().max(MAX_STRING)).max(MAX_ITEMS).optional(),
  env: z.array(EnvVarSchema).max(MAX_ITEMS).optional(),
  cwd: z.string().min(1).max(MAX_STRING).optional(),
  // remote: a server the proxy connects to.
  url: HttpUrlSchema.max(2048).optional().describe('URL of a remote MCP server'),
  transport: z.enum(TRANSPORTS).optional().describe('auto (default) tries Streamable HTTP, then SSE'),
  headers: z.array(HeaderSchema).max(MAX_ITEMS).optional(),
  // deployment: an HTTP server the operator runs and registers by its Service URL.
  deployment: DeploymentSpecSchema.optional(),
  // Proxy options, the same for every mode.
  prefix: PrefixSchema.max(64)
    .optional()
    .describe('exposed names are <prefix>__<tool>; default: the resource name; "" exposes names unchanged'),
  tools: BackendToolsSchema.optional().describe(
    'per-tool settings keyed by original tool names: include/exclude globs, overrides {name, description}, pins {"<tool>": "sha256:…"}',
  ),
  timeoutSeconds: z.int().min(1).max(3600).optional().describe('per-request timeout'),
  disabled: z.boolean().optional().describe('keep the definition but serve nothing'),
});

export const McpServerSpecSchema = withInvariants(SpecObjectSchema, [
  {
    holds: (v) => present(v, MODES).length === 1,
    rule: celExactlyOne(MODES),
    message:
      'set exactly one of command (a stdio server run in the proxy pods), url (a remote server) ' +
      'or deployment (a server the operator runs)',
  },
  {
    holds: (v) => v.url === undefined || HttpUrlSchema.safeParse(v.url).success,
    rule: "!has(self.url) || (isURL(self.url) && url(self.url).getScheme() in ['http', 'https'])",
    message: URL_MESSAGE,
    fieldPath: '.url',
    path: ['url'],
  },
  prefixInvariant(),
  ...STDIO_ONLY.map((f) => onlyWith(f, 'command', 'a stdio server')),
  ...REMOTE_ONLY.map((f) => onlyWith(f, 'url', 'a remote server')),
]);

export type McpServerSpec = z.output<typeof McpServerSpecSchema>;
export type EnvVar = z.output<typeof EnvVarSchema>;
export type Header = z.output<typeof HeaderSchema>;
export type KeyRef = z.output<typeof KeyRefSchema>;

/** A condition as metav1.Condition has it. */
export const ConditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
  lastTransitionTime: z.string().max(64),
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.output<typeof ConditionSchema>;

export const MAX_STATUS_TOOLS = 100;

export const McpServerStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  conditions: z.array(ConditionSchema).max(16).optional(),
  backendName: z.string().max(64).optional().describe('the name of this server on the proxy replicas'),
  prefix: z.string().max(64).optional().describe('the prefix its tools are exposed under'),
  transport: z.string().max(32).optional(),
  synced: z.string().max(32).optional().describe('"<synced>/<total>" proxy replicas'),
  replicas: z.object({ synced: z.int().min(0), total: z.int().min(0) }).optional(),
  toolCount: z.int().min(0).optional(),
  tools: z.array(z.string().max(1024)).max(MAX_STATUS_TOOLS).optional().describe('the first 100 tools'),
  toolDefinitions: z
    .array(
      z.object({
        name: z.string().max(1024).describe('the original name'),
        exposed: z.string().max(1024).optional(),
        hash: z
          .string()
          .max(128)
          .describe('sha256 of the definition; commit it to spec.tools.pins to pin it'),
        state: z.string().max(32).describe('listed, filtered, collision, drifted or held'),
      }),
    )
    .max(MAX_STATUS_TOOLS)
    .optional()
    .describe('the first 100 tools the server lists, each with its definition hash'),
  serverInfo: z
    .object({
      name: z.string().max(1024),
      version: z.string().max(1024),
      protocolVersion: z.string().max(64).optional(),
    })
    .optional(),
  lastError: z.string().max(32768).optional(),
});
export type McpServerStatus = z.output<typeof McpServerStatusSchema>;

const MetadataSchema = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  finalizers: z.array(z.string()).optional(),
});

/** An McpServer as the controller reads it from the API server. */
export const McpServerSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: MetadataSchema,
  spec: McpServerSpecSchema,
  status: McpServerStatusSchema.optional(),
});
export type McpServer = z.output<typeof McpServerSchema>;

/** Which of the three modes a valid spec uses. */
export function modeOf(spec: McpServerSpec): Mode {
  if (spec.command !== undefined) return 'command';
  if (spec.url !== undefined) return 'url';
  return 'deployment';
}
