import { z } from 'zod';
import { unknownKeysMessage } from './errors.js';

// The virtual server contract: a named selection of the catalog, served at /mcp/<name>, /sse/<name>
// and `--virtual <name>`. Node-free like contract.ts, which re-exports it for the operator.

/** Same alphabet as backend names: the name is a URL path segment and shows up in logs and CRD names. */
export const VirtualServerNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a virtual server name is 1–64 characters of letters, digits, "_" and "-"');

const GlobSchema = z.string().min(1, 'a tool pattern must not be empty');
const ScopeSchema = z
  .string()
  .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is one token of visible ASCII without spaces, " or \\');
const ClaimValueSchema = z.string().min(1, 'a claim value must not be empty');

const KEYS = ['backends', 'tools', 'scopes', 'claims'];

/**
 * Every key is optional. `backends` names backends (default: all); `tools` are globs (picomatch) over
 * EXPOSED names, so one pattern can pick across backends; `scopes` must all be on the client's
 * OAuth token; `claims` must all match: each names a token claim and the value (or any of the
 * values) it must have — a string claim equal to it, or an array claim containing it.
 */
export const VirtualServerSpecSchema = z.strictObject(
  {
    backends: z
      .array(
        z
          .string()
          .regex(
            /^[A-Za-z0-9_-]{1,64}$/,
            'a backend name is 1–64 characters of letters, digits, "_" and "-"',
          ),
      )
      .optional(),
    tools: z
      .strictObject(
        { include: z.array(GlobSchema).optional(), exclude: z.array(GlobSchema).optional() },
        {
          error: (issue) =>
            issue.code === 'unrecognized_keys'
              ? unknownKeysMessage(issue.keys, ['include', 'exclude'])
              : undefined,
        },
      )
      .optional(),
    scopes: z.array(ScopeSchema).optional(),
    claims: z
      .record(
        z.string().min(1, 'a claim name must not be empty'),
        z.union([ClaimValueSchema, z.array(ClaimValueSchema).min(1, 'list at least one accepted value')], {
          error: 'a claim must be a string or a list of strings (any of them matches)',
        }),
      )
      .optional(),
  },
  {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKeysMessage(issue.keys, KEYS) : undefined),
  },
);

export type VirtualServerSpec = z.infer<typeof VirtualServerSpecSchema>;

export const VirtualServersSchema = z.record(VirtualServerNameSchema, VirtualServerSpecSchema);

/** What the token must satisfy; the claims' matching rule is the one documented on the schema. */
export function missingClaims(
  spec: Pick<VirtualServerSpec, 'claims'>,
  claims: Readonly<Record<string, unknown>>,
): string[] {
  const missing: string[] = [];
  for (const [claim, wanted] of Object.entries(spec.claims ?? {})) {
    const accepted = typeof wanted === 'string' ? [wanted] : wanted;
    const value = Object.hasOwn(claims, claim) ? claims[claim] : undefined;
    const held = (Array.isArray(value) ? value : [value]).filter((v): v is string | number | boolean =>
      ['string', 'number', 'boolean'].includes(typeof v),
    );
    if (!held.some((v) => accepted.includes(String(v)))) missing.push(claim);
  }
  return missing;
}

/** Structural equality (key order ignored): an unchanged definition must not count as a change. */
export function virtualSpecsEqual(a: VirtualServerSpec, b: VirtualServerSpec): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
