import { z } from 'zod';
import { ConfigError, formatValue, formatZodIssues, unknownKeysMessage } from './errors.js';
import { VirtualServersSchema } from './virtual.js';

// The backend definition contract: the single schema that the mcp.json loader, the admin API and the
// operator (through `@multi-mcp/proxy/contract`) all validate with. No Node-specific imports here.

export { ConfigError, formatZodIssues } from './errors.js';
export {
  VirtualServerNameSchema,
  VirtualServerSpecSchema,
  VirtualServersSchema,
  missingClaims,
} from './virtual.js';
export type { VirtualServerSpec } from './virtual.js';

/** Defaults the consumer applies when a spec leaves these unset (kept out of the schema so a spec
 * round-trips exactly as written and `specsEqual` compares what the user wrote). */
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

const NAME_CHARS = 'letters, digits, "_" and "-"';

export const BackendNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, `a backend name is 1–64 characters of ${NAME_CHARS}`);

// Same alphabet as backend names because the prefix defaults to the name and LLM tool-calling APIs accept
// only ^[a-zA-Z0-9_-]{1,64}$ in exposed names.
export const PrefixSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{0,64}$/,
    `prefix must be empty (names exposed unchanged) or 1–64 characters of ${NAME_CHARS}`,
  );

const GlobSchema = z
  .string()
  .min(1, 'a tool pattern must not be empty (patterns match original tool names, before overrides)');

/** Glob patterns (picomatch) on original tool names; no include = every tool. */
export const ToolFilterSchema = z.strictObject(
  { include: z.array(GlobSchema).optional(), exclude: z.array(GlobSchema).optional() },
  { error: (issue) => keysError(issue, ['include', 'exclude']) },
);

/** A tool's name as its backend lists it: the key of overrides and pins. */
const OriginalToolNameSchema = z
  .string()
  .min(1, 'a tool name must not be empty')
  .max(256, 'a tool name is at most 256 characters');

/** What an override may rename a tool to: the alphabet LLM tool-calling APIs accept, before prefixing. */
export const ToolOverrideNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, `an override name is 1–64 characters of ${NAME_CHARS}`);

export const ToolOverrideSchema = z
  .strictObject(
    {
      name: ToolOverrideNameSchema.optional(),
      description: z.string().max(16_384, 'an override description is at most 16384 characters').optional(),
    },
    { error: (issue) => keysError(issue, ['name', 'description']) },
  )
  .refine((o) => o.name !== undefined || o.description !== undefined, {
    error: 'an override sets name, description or both',
  });
export type ToolOverride = z.output<typeof ToolOverrideSchema>;

/** `sha256:` and 64 lowercase hex digits: the hash multi-mcp shows for a tool definition. */
export const PIN_PATTERN = /^sha256:[0-9a-f]{64}$/;
export const ToolPinSchema = z
  .string()
  .regex(
    PIN_PATTERN,
    'a pin is "sha256:" followed by 64 lowercase hex digits (GET /mcp_servers/{name} shows each tool\'s hash)',
  );

/**
 * Per-tool settings of a backend, all keyed by original names: filters, overrides (name and
 * description clients see) and pins (the definition hash a tool must keep to stay listed).
 */
export const BackendToolsSchema = z
  .strictObject(
    {
      include: z.array(GlobSchema).optional(),
      exclude: z.array(GlobSchema).optional(),
      overrides: z.record(OriginalToolNameSchema, ToolOverrideSchema).optional(),
      pins: z.record(OriginalToolNameSchema, ToolPinSchema).optional(),
    },
    { error: (issue) => keysError(issue, ['include', 'exclude', 'overrides', 'pins']) },
  )
  .superRefine((tools, ctx) => {
    // Two tools renamed to one name would collide on every build; say so once, here.
    const byName = new Map<string, string>();
    for (const [original, override] of Object.entries(tools.overrides ?? {})) {
      if (override.name === undefined) continue;
      const other = byName.get(override.name);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['overrides', original, 'name'],
          input: override.name,
          message: `${formatValue(override.name)} is already the override name of ${formatValue(other)}`,
        });
      }
      byName.set(override.name, original);
    }
  });
export type BackendTools = z.output<typeof BackendToolsSchema>;

const MAX_DURATION_MS = 3_600_000;
const DurationMsSchema = z
  .int()
  .min(1, `must be between 1 and ${MAX_DURATION_MS} milliseconds`)
  .max(MAX_DURATION_MS, `must be between 1 and ${MAX_DURATION_MS} milliseconds (one hour)`);

const StringMapSchema = z.record(z.string(), z.string());

const proxyOptionsShape = {
  prefix: PrefixSchema.optional(),
  tools: BackendToolsSchema.optional(),
  timeoutMs: DurationMsSchema.optional(),
  connectTimeoutMs: DurationMsSchema.optional(),
  disabled: z.boolean().optional(),
};
const PROXY_OPTION_KEYS = Object.keys(proxyOptionsShape);

// Keys that desktop clients (Claude Desktop, Cline, Roo, Windsurf) write into their mcp.json for their own
// use. They mean nothing to the proxy, but users paste their desktop file as is, so rejecting them would
// make the first run fail. Everything else unknown is an error, so typos are caught.
const IGNORED_DESKTOP_KEYS = ['autoApprove', 'alwaysAllow', 'description', 'timeout'] as const;

const STDIO_KEYS = ['command', 'args', 'env', 'cwd', ...PROXY_OPTION_KEYS];
const REMOTE_KEYS = ['url', 'transport', 'headers', ...PROXY_OPTION_KEYS];

const STDIO_ONLY: Record<string, string> = {
  command: 'is for a local process; this entry has url (a remote server)',
  args: 'is for a local process (command); this entry has url (a remote server)',
  env: 'is for a local process (command); use headers to pass credentials to a remote server',
  cwd: 'is for a local process (command); this entry has url (a remote server)',
};
const REMOTE_ONLY: Record<string, string> = {
  url: 'is for a remote server; this entry has command (a local process)',
  transport: 'is for a remote server (url); this entry has command (a local process)',
  headers: 'is for a remote server (url); use env to pass credentials to a local process',
};

function keysError(
  issue: z.core.$ZodRawIssue,
  allowed: readonly string[],
  elsewhere?: Record<string, string>,
): string | undefined {
  return issue.code === 'unrecognized_keys' ? unknownKeysMessage(issue.keys, allowed, elsewhere) : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutIgnoredKeys(input: unknown): unknown {
  if (!isPlainObject(input)) return input;
  const copy = { ...input };
  for (const key of IGNORED_DESKTOP_KEYS) delete copy[key];
  return copy;
}

export const StdioBackendSchema = z.preprocess(
  withoutIgnoredKeys,
  z
    .strictObject(
      {
        // Desktop clients write `"type": "stdio"`; accepted and dropped.
        type: z
          .literal('stdio', {
            error: 'an entry with command runs a local process, so type can only be "stdio"',
          })
          .optional(),
        command: z.string().min(1, 'command must not be empty'),
        args: z.array(z.string()).optional(),
        env: StringMapSchema.optional(),
        cwd: z.string().min(1, 'cwd must not be empty (leave it out to inherit)').optional(),
        ...proxyOptionsShape,
      },
      { error: (issue) => keysError(issue, STDIO_KEYS, REMOTE_ONLY) },
    )
    .transform(({ type: _type, ...spec }) => spec),
);

const TRANSPORT_ALIASES = {
  'streamable-http': 'streamable-http',
  http: 'streamable-http',
  streamableHttp: 'streamable-http',
  sse: 'sse',
} as const;
type TransportAlias = keyof typeof TRANSPORT_ALIASES;

const TransportAliasSchema = z.enum(Object.keys(TRANSPORT_ALIASES) as [TransportAlias, ...TransportAlias[]], {
  error: (issue) =>
    issue.input === 'stdio'
      ? '"stdio" needs command (a local process), but this entry has url'
      : 'must be "streamable-http" or "sse" (aliases: "http", "streamableHttp")',
});

export const HttpUrlSchema = z.string().refine(
  (value) => {
    try {
      const { protocol } = new URL(value);
      return protocol === 'http:' || protocol === 'https:';
    } catch {
      return false;
    }
  },
  { error: (issue) => `Invalid URL ${formatValue(issue.input)} (expected an http:// or https:// URL)` },
);

export const RemoteBackendSchema = z.preprocess(
  withoutIgnoredKeys,
  z
    .strictObject(
      {
        url: HttpUrlSchema,
        transport: TransportAliasSchema.optional(),
        // Desktop clients name the transport `type`; both are accepted and normalized into `transport`.
        type: TransportAliasSchema.optional(),
        headers: StringMapSchema.optional(),
        ...proxyOptionsShape,
      },
      { error: (issue) => keysError(issue, REMOTE_KEYS, STDIO_ONLY) },
    )
    .superRefine((spec, ctx) => {
      if (spec.type && spec.transport && TRANSPORT_ALIASES[spec.type] !== TRANSPORT_ALIASES[spec.transport]) {
        ctx.addIssue({
          code: 'custom',
          path: ['type'],
          input: spec.type,
          message: `type ${formatValue(spec.type)} contradicts transport ${formatValue(spec.transport)}; set only transport`,
        });
      }
    })
    .transform(({ type, transport, ...spec }) => {
      const alias = transport ?? type;
      return { ...spec, ...(alias === undefined ? {} : { transport: TRANSPORT_ALIASES[alias] }) };
    }),
);

export type StdioBackendSpec = z.output<typeof StdioBackendSchema>;
export type RemoteBackendSpec = z.output<typeof RemoteBackendSchema>;

const EITHER = 'command (a local process) or url (a remote server)';

/** Exactly one of stdio (`command`) or remote (`url`). Dispatching on the key instead of a z.union keeps
 * the errors about the entry the user meant, not a list of every way both branches failed. */
export const BackendSpecSchema = z.unknown().transform((input, ctx): StdioBackendSpec | RemoteBackendSpec => {
  if (!isPlainObject(input)) {
    ctx.addIssue({
      code: 'custom',
      input,
      message: `expected an object with ${EITHER}, got ${formatValue(input)}`,
    });
    return z.NEVER;
  }
  const hasCommand = input.command !== undefined;
  const hasUrl = input.url !== undefined;
  if (hasCommand === hasUrl) {
    if (!hasCommand) {
      // Most often a typo of command or url itself: name the unknown keys so the hint points at it.
      const known = new Set<string>([...STDIO_KEYS, ...REMOTE_KEYS, 'type', ...IGNORED_DESKTOP_KEYS]);
      const unknown = Object.keys(input).filter((key) => !known.has(key));
      if (unknown.length > 0) {
        const allowed = [...new Set([...STDIO_KEYS, ...REMOTE_KEYS])];
        ctx.addIssue({ code: 'custom', input, message: unknownKeysMessage(unknown, allowed) });
      }
    }
    const message = hasCommand ? `set either ${EITHER}, not both` : `missing ${EITHER}: set exactly one`;
    ctx.addIssue({ code: 'custom', input, message });
    return z.NEVER;
  }
  const result = (hasCommand ? StdioBackendSchema : RemoteBackendSchema).safeParse(input, {
    reportInput: true,
  });
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ ...issue });
  return z.NEVER;
});

export type BackendSpec = z.infer<typeof BackendSpecSchema>;

export function isStdioBackend(spec: BackendSpec): spec is StdioBackendSpec {
  return 'command' in spec;
}

export const McpJsonSchema = z.strictObject(
  {
    $schema: z.string().optional(),
    mcpServers: z.record(BackendNameSchema, BackendSpecSchema),
    virtualServers: VirtualServersSchema.optional(),
  },
  {
    error: (issue) =>
      keysError(issue, ['mcpServers', 'virtualServers', '$schema'], {
        servers: 'is what VS Code calls it; multi-mcp reads "mcpServers" (the Claude Desktop format)',
      }),
  },
);

export type McpJson = z.infer<typeof McpJsonSchema>;

/** Validates one backend definition; `path` prefixes every issue (e.g. `mcpServers.weather`). */
export function parseBackendSpec(input: unknown, path: string): BackendSpec {
  const result = BackendSpecSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(`invalid backend definition ${path}`, formatZodIssues(result.error, path));
}

/** Validates a whole mcp.json document; `source` (a file path, "request body") heads the error. */
export function parseMcpJson(input: unknown, source: string): McpJson {
  const result = McpJsonSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(`invalid configuration in ${source}`, formatZodIssues(result.error, ''));
}

/**
 * Deep structural equality of two normalized specs: key order does not matter and a key set to
 * undefined equals a missing key. Used for idempotent upserts (an unchanged spec must not reconnect).
 * Defaults are not applied, so `timeoutMs: 60000` differs from leaving it out.
 */
export function specsEqual(a: BackendSpec, b: BackendSpec): boolean {
  return deepEqual(a, b);
}

/**
 * Fields read per call (`timeoutMs`) or per catalog build (`prefix`, `tools`), never by the
 * connection: an edit of these alone must not reconnect the server (an operator's tool-filter
 * edit would otherwise restart its process and fail calls in flight).
 */
const RETUNABLE_FIELDS: ReadonlySet<string> = new Set(['prefix', 'tools', 'timeoutMs']);

/** True when `a` and `b` need the same connection: they differ at most in retunable fields. */
export function sameConnection(a: BackendSpec, b: BackendSpec): boolean {
  const connectionPart = (spec: BackendSpec): Record<string, unknown> =>
    Object.fromEntries(Object.entries(spec).filter(([key]) => !RETUNABLE_FIELDS.has(key)));
  return deepEqual(connectionPart(a), connectionPart(b));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keysA = Object.keys(a).filter((key) => a[key] !== undefined);
  const keysB = Object.keys(b).filter((key) => b[key] !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
}
