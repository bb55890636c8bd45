import { createHash } from 'node:crypto';
import type { BackendSpec } from '@multi-mcp/proxy/contract';
import { BackendNameSchema, PrefixSchema } from '@multi-mcp/proxy/contract';
import type { EnvVar, Header, KeyRef, McpServer, McpServerSpec } from '../api/index.js';
import { modeOf } from '../api/index.js';
import { Reason } from './conditions.js';
import { serviceUrlFor } from './workload.js';

// Pure translation of an McpServer (plus the Secrets and ConfigMaps it references) into the proxy's
// backend definition. Everything here is a function of its arguments, so reconcile can recompute the
// whole desired set from the informer caches at any time.

/** Decoded data of the Secrets and ConfigMaps the controller can see. */
export interface ReferenceLookup {
  secret(namespace: string, name: string): Readonly<Record<string, string>> | undefined;
  configMap(namespace: string, name: string): Readonly<Record<string, string>> | undefined;
}

export interface TranslationError {
  reason: Reason;
  message: string;
}

export type Translation = { ok: true; spec: BackendSpec } | ({ ok: false } & TranslationError);

export interface TranslationOptions {
  /** Whether stdio servers (programs run inside the proxy pods) may be defined in this namespace. */
  stdioAllowed: (namespace: string) => boolean;
  /** What to tell a user whose namespace may not define stdio servers. */
  stdioHint: string;
}

/**
 * The proxy-side backend name: unique across namespaces. `_` separates namespace and name because
 * Kubernetes names never contain it (with `-`, `a-b/c` and `a/b-c` would clash); dots of a name
 * become `_` too. Longer than the proxy's 64 characters: cut, plus a hash of the full key.
 */
export function backendNameFor(namespace: string, name: string): string {
  const plain = `${namespace}_${name.replaceAll('.', '_')}`;
  if (BackendNameSchema.safeParse(plain).success) return plain;
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 8);
  return `${plain.slice(0, 55)}_${hash}`;
}

/** The prefix the server's tools are exposed under: spec.prefix, else the resource's name. */
export function exposedPrefix(
  server: McpServer,
): { ok: true; prefix: string } | ({ ok: false } & TranslationError) {
  const prefix = server.spec.prefix ?? server.metadata.name;
  if (PrefixSchema.safeParse(prefix).success) return { ok: true, prefix };
  return {
    ok: false,
    reason: Reason.InvalidSpec,
    message:
      `the name "${server.metadata.name}" cannot be the prefix (letters, digits, "_" and "-", at most 64): ` +
      'set spec.prefix',
  };
}

/** Secrets and ConfigMaps (names in the server's namespace) the spec reads, for watching. */
export function referencesOf(spec: McpServerSpec): { secrets: string[]; configMaps: string[] } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  const env = [...(spec.env ?? []), ...(spec.deployment?.env ?? [])];
  for (const e of env) {
    if (e.valueFrom?.secretKeyRef) secrets.add(e.valueFrom.secretKeyRef.name);
    if (e.valueFrom?.configMapKeyRef) configMaps.add(e.valueFrom.configMapKeyRef.name);
  }
  for (const h of spec.headers ?? []) if (h.valueFrom) secrets.add(h.valueFrom.secretKeyRef.name);
  return { secrets: [...secrets], configMaps: [...configMaps] };
}

class Unresolved extends Error {}

function lookup(
  refs: ReferenceLookup,
  namespace: string,
  kind: 'secret' | 'configMap',
  ref: KeyRef,
  field: string,
): string | undefined {
  const data = kind === 'secret' ? refs.secret(namespace, ref.name) : refs.configMap(namespace, ref.name);
  const what = kind === 'secret' ? 'Secret' : 'ConfigMap';
  if (data === undefined) {
    if (ref.optional) return undefined;
    throw new Unresolved(`${field}: ${what} "${ref.name}" not found in namespace "${namespace}"`);
  }
  const value = data[ref.key];
  if (value === undefined) {
    if (ref.optional) return undefined;
    throw new Unresolved(`${field}: ${what} "${ref.name}" has no key "${ref.key}"`);
  }
  return value;
}

function resolveEnv(list: readonly EnvVar[], namespace: string, refs: ReferenceLookup, field: string) {
  const env: Record<string, string> = {};
  list.forEach((e, i) => {
    const at = `${field}[${i}]`;
    let value: string | undefined = e.value ?? '';
    if (e.valueFrom?.secretKeyRef)
      value = lookup(refs, namespace, 'secret', e.valueFrom.secretKeyRef, `${at}.valueFrom.secretKeyRef`);
    else if (e.valueFrom?.configMapKeyRef)
      value = lookup(
        refs,
        namespace,
        'configMap',
        e.valueFrom.configMapKeyRef,
        `${at}.valueFrom.configMapKeyRef`,
      );
    if (value !== undefined) env[e.name] = value;
  });
  return env;
}

function resolveHeaders(list: readonly Header[], namespace: string, refs: ReferenceLookup) {
  const headers: Record<string, string> = {};
  list.forEach((h, i) => {
    const value = h.valueFrom
      ? lookup(
          refs,
          namespace,
          'secret',
          h.valueFrom.secretKeyRef,
          `spec.headers[${i}].valueFrom.secretKeyRef`,
        )
      : h.value;
    if (value !== undefined) headers[h.name] = value;
  });
  return headers;
}

/** `backendSpecFor(server, refs)`: the proxy backend definition of one McpServer, or why there is none. */
export function backendSpecFor(
  server: McpServer,
  refs: ReferenceLookup,
  options: TranslationOptions,
): Translation {
  const { spec } = server;
  const namespace = server.metadata.namespace;
  const prefix = exposedPrefix(server);
  if (!prefix.ok) return prefix;
  const common = {
    prefix: prefix.prefix,
    ...(spec.tools && { tools: spec.tools }),
    ...(spec.timeoutSeconds !== undefined && { timeoutMs: spec.timeoutSeconds * 1000 }),
    ...(spec.disabled && { disabled: true }),
  };
  try {
    switch (modeOf(spec)) {
      case 'command': {
        if (!options.stdioAllowed(namespace)) {
          return {
            ok: false,
            reason: Reason.StdioNotAllowed,
            message:
              `stdio servers (spec.command) run programs inside the shared proxy pods and are not allowed ` +
              `in namespace "${namespace}"; ${options.stdioHint}, or use spec.url or spec.deployment`,
          };
        }
        return {
          ok: true,
          spec: {
            command: spec.command as string,
            ...(spec.args && { args: spec.args }),
            ...(spec.env && { env: resolveEnv(spec.env, namespace, refs, 'spec.env') }),
            ...(spec.cwd && { cwd: spec.cwd }),
            ...common,
          },
        };
      }
      case 'url':
        return {
          ok: true,
          spec: {
            url: spec.url as string,
            ...(spec.transport && spec.transport !== 'auto' && { transport: spec.transport }),
            ...(spec.headers && { headers: resolveHeaders(spec.headers, namespace, refs) }),
            ...common,
          },
        };
      case 'deployment':
        // The kubelet resolves these itself, but only when a pod starts: resolved here so that a
        // missing Secret, ConfigMap or key is refused by name instead of a pod that never starts.
        if (spec.deployment?.env) resolveEnv(spec.deployment.env, namespace, refs, 'spec.deployment.env');
        // The operator runs it (workload.ts); the proxies reach it through its Service.
        return { ok: true, spec: { url: serviceUrlFor(server), transport: 'streamable-http', ...common } };
    }
  } catch (error) {
    if (error instanceof Unresolved)
      return { ok: false, reason: Reason.ReferenceNotFound, message: error.message };
    throw error;
  }
}

/**
 * A hash of what `spec.deployment.env` reads from Secrets and ConfigMaps (undefined when it reads
 * nothing). Containers read env only when they start, so a rotated value reaches the server only if
 * the pod template changes: this goes into a template annotation (the usual checksum annotation).
 * Only a hash: whoever can read the Deployment must not learn the values.
 */
export function referencedEnvHash(server: McpServer, refs: ReferenceLookup): string | undefined {
  const env = server.spec.deployment?.env ?? [];
  if (!env.some((e) => e.valueFrom)) return undefined;
  return specHash(resolveEnv(env, server.metadata.namespace, refs, 'spec.deployment.env'));
}

/** A stable hash of a backend definition (key order does not matter). */
export function specHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
