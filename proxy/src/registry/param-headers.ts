import type { Tool } from '@modelcontextprotocol/client';

// 2026-07-28 Streamable HTTP, "Custom Headers from Tool Parameters" (SEP-2243): a tool may mark
// primitive properties of its inputSchema with `x-mcp-header: Name`, and a tools/call then
// carries each marked argument again as an `Mcp-Param-Name` header, so load balancers and
// gateways can route on it without reading the body. The SDK has these rules (for its
// McpServer and its typed callTool), but exports none of them and the proxy uses neither:
// the proxy scans, builds and checks the headers here, the way the spec and the SDK do.

export const PARAM_HEADER_PREFIX = 'Mcp-Param-';
const X_MCP_HEADER = 'x-mcp-header';
/** RFC 9110 token (`1*tchar`): what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** `number` is not allowed: its string form is ambiguous (spec, "Schema Extension"). */
const PRIMITIVES = new Set(['string', 'integer', 'boolean']);
/** Subschemas no `properties`-only chain passes through: a declaration under one is invalid. */
const UNREACHABLE = [
  'items',
  'prefixItems',
  'contains',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'patternProperties',
  'dependentSchemas',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions',
] as const;
const NAME_TO_SCHEMA = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);
const SENTINEL_START = '=?base64?';
const SENTINEL_END = '?=';
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** One marked property: where its value sits in `arguments`, and the header it goes out as. */
export interface ParamHeader {
  path: readonly string[];
  /** The `x-mcp-header` value: the header is `Mcp-Param-<name>`. */
  name: string;
  type: string | undefined;
}

export type ParamHeaderScan =
  | { valid: true; headers: ParamHeader[] }
  /** `headers` is set when the only fault is a `number`-typed property (still checked, as the SDK does). */
  | { valid: false; reason: string; headers?: ParamHeader[] };

const where = (path: readonly string[]): string => (path.length === 0 ? '<root>' : path.join('.'));

/** The `x-mcp-header` declarations of one inputSchema, or why it breaks the spec's rules. */
export function scanParamHeaders(inputSchema: unknown): ParamHeaderScan {
  const headers: ParamHeader[] = [];
  const seen = new Map<string, string>();
  let numberFault: string | undefined;
  const visit = (node: unknown, path: string[], reachable: boolean): string | undefined => {
    if (typeof node !== 'object' || node === null) return undefined;
    const schema = node as Record<string, unknown>;
    if (X_MCP_HEADER in schema) {
      const name = schema[X_MCP_HEADER];
      if (!reachable || path.length === 0)
        return `${where(path)}: x-mcp-header is allowed only on properties reached through 'properties' alone`;
      if (typeof name !== 'string' || name === '')
        return `${where(path)}: x-mcp-header must be a non-empty string`;
      if (!TOKEN.test(name))
        return `${where(path)}: x-mcp-header ${JSON.stringify(name)} is not an HTTP header name token (RFC 9110)`;
      const type = typeof schema['type'] === 'string' ? schema['type'] : undefined;
      if (type === undefined || !PRIMITIVES.has(type)) {
        const fault = `${where(path)}: x-mcp-header is allowed only on string, integer or boolean properties, not ${type ?? 'untyped'} ones`;
        if (type !== 'number') return fault;
        numberFault ??= fault;
      }
      const prior = seen.get(name.toLowerCase());
      if (prior !== undefined)
        return `x-mcp-header ${JSON.stringify(name)} is declared twice (also as ${JSON.stringify(prior)}); names are case-insensitive`;
      seen.set(name.toLowerCase(), name);
      headers.push({ path, name, type });
    }
    const properties = schema['properties'];
    if (typeof properties === 'object' && properties !== null) {
      for (const [key, child] of Object.entries(properties)) {
        const fault = visit(child, [...path, key], reachable);
        if (fault !== undefined) return fault;
      }
    }
    for (const keyword of UNREACHABLE) {
      const sub = schema[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub)
        ? sub
        : NAME_TO_SCHEMA.has(keyword) && typeof sub === 'object' && sub !== null
          ? Object.values(sub)
          : [sub];
      for (const branch of branches) {
        const fault = visit(branch, [...path, `<${keyword}>`], false);
        if (fault !== undefined) return fault;
      }
    }
    return undefined;
  };
  const fault = visit(inputSchema, [], true);
  if (fault !== undefined) return { valid: false, reason: numberFault ?? fault };
  return numberFault === undefined
    ? { valid: true, headers }
    : { valid: false, reason: numberFault, headers };
}

/** The per-tool declarations of one tool list, by tool name; only tools that declare any. */
export type ParamHeaderIndex = ReadonlyMap<string, readonly ParamHeader[]>;

const indexes = new WeakMap<readonly Tool[], ParamHeaderIndex>();

/**
 * Which tools of a list declare parameter headers: computed once per list (a backend's lists
 * are replaced whole when they change), so a call to a tool without declarations costs one
 * map lookup.
 */
export function paramHeaderIndex(tools: readonly Tool[]): ParamHeaderIndex {
  let index = indexes.get(tools);
  if (!index) {
    const built = new Map<string, readonly ParamHeader[]>();
    for (const tool of tools) {
      const scan = scanParamHeaders(tool.inputSchema);
      if (scan.headers && scan.headers.length > 0) built.set(tool.name, scan.headers);
    }
    indexes.set(tools, (index = built));
  }
  return index;
}

function valueAt(args: unknown, path: readonly string[]): unknown {
  let node = args;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** An argument as the spec writes it in a header; undefined: no header for it. */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) {
    return Number.isInteger(value) && !Number.isSafeInteger(value) ? undefined : String(value);
  }
  return undefined;
}

/**
 * A value as a header carries it: plain when it is visible ASCII and spaces with nothing to
 * trim; otherwise (and when empty, or when it looks like the sentinel) Base64 of its UTF-8
 * inside `=?base64?…?=`.
 */
export function encodeParamValue(value: string): string {
  const plain =
    value !== '' &&
    value === value.trim() &&
    !(value.startsWith(SENTINEL_START) && value.endsWith(SENTINEL_END)) &&
    /^[\x20-\x7e]*$/.test(value);
  return plain ? value : `${SENTINEL_START}${Buffer.from(value, 'utf8').toString('base64')}${SENTINEL_END}`;
}

/** A header value decoded; undefined when it carries the sentinel around something not Base64 of UTF-8. */
export function decodeParamValue(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_START) && value.endsWith(SENTINEL_END))) return value;
  const base64 = value.slice(SENTINEL_START.length, value.length - SENTINEL_END.length);
  if (!CANONICAL_BASE64.test(base64)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * The `Mcp-Param-*` headers a tools/call with `args` goes out with; absent and null arguments get
 * none. `forwarded` (what the calling client sent) passes on where the tool declares no such
 * header: intermediaries must forward the `Mcp-Param-*` headers they do not recognize.
 */
export function paramHeadersFor(
  declared: readonly ParamHeader[],
  args: unknown,
  forwarded?: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  if (forwarded) {
    const recognized = new Set(declared.map((h) => `${PARAM_HEADER_PREFIX}${h.name}`.toLowerCase()));
    for (const [name, value] of Object.entries(forwarded))
      if (!recognized.has(name.toLowerCase())) (out ??= {})[name] = value;
  }
  for (const header of declared) {
    const text = asText(valueAt(args, header.path));
    if (text === undefined) continue;
    (out ??= {})[`${PARAM_HEADER_PREFIX}${header.name}`] = encodeParamValue(text);
  }
  return out;
}

const PREFIX_LOWER = PARAM_HEADER_PREFIX.toLowerCase();

/** The `Mcp-Param-*` headers of a request (Node's lower-case header names), if it has any. */
export function sentParamHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (!name.startsWith(PREFIX_LOWER) || value === undefined) continue;
    (out ??= {})[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Why a call's `Mcp-Param-*` headers do not agree with its arguments (HTTP 400, -32020). */
export interface ParamHeaderMismatch {
  header: string;
  /** What is wrong, naming the header, the argument and its value. */
  reason: string;
}

/**
 * Checks a 2026-07-28 call's headers against its arguments (spec, "Server Behavior for Custom
 * Headers"): every declared argument with a value must come with its header, decoding to the
 * same value (integers compared as numbers). `header(name)` reads a request header by its
 * lower-case name.
 */
export function checkParamHeaders(
  declared: readonly ParamHeader[],
  args: unknown,
  header: (lowerCaseName: string) => string | undefined,
): ParamHeaderMismatch | undefined {
  for (const { path, name, type } of declared) {
    const value = valueAt(args, path);
    const text = asText(value);
    if (text === undefined) continue;
    const headerName = `${PARAM_HEADER_PREFIX}${name}`;
    const sent = header(headerName.toLowerCase());
    const argument = `${where(path)}=${JSON.stringify(value)}`;
    if (sent === undefined)
      return {
        header: headerName,
        reason: `the body carries ${argument} but the ${headerName} header is absent`,
      };
    const decoded = decodeParamValue(sent);
    if (decoded === undefined)
      return {
        header: headerName,
        reason: `the ${headerName} header carries an invalid Base64 sentinel value`,
      };
    const numeric =
      (type === 'integer' || type === 'number') && typeof value === 'number' && DECIMAL.test(decoded);
    if (numeric ? Number(decoded) !== value : decoded !== text)
      return {
        header: headerName,
        reason: `the ${headerName} header decodes to ${JSON.stringify(decoded)} but the body carries ${argument}`,
      };
  }
  return undefined;
}
