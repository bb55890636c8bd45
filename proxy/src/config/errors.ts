import type { z } from 'zod';

// Node-free: contract.ts re-exports this module, and the operator imports the contract.

/**
 * A configuration that cannot be used, from any source (file, admin API, operator). `issues` holds one
 * line per problem, each starting with the dotted path of the offending field, so a person can fix all
 * of them in one pass; `message` repeats them so a log line or a thrown error is enough on its own.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The headline without the issues, e.g. `invalid configuration in /etc/mcp.json`. */
  readonly summary: string;
  readonly issues: string[];

  constructor(summary: string, issues: string[]) {
    super(
      issues.length === 0
        ? summary
        : issues.length === 1
          ? `${summary}: ${issues[0]}`
          : `${summary} (${issues.length} problems):\n  ${issues.join('\n  ')}`,
    );
    this.summary = summary;
    this.issues = issues;
  }
}

type PathSegment = PropertyKey;

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/** `mcpServers.weather.args[0]`; keys that would be ambiguous in dotted form are bracketed and quoted. */
export function formatPath(root: string, segments: readonly PathSegment[] = []): string {
  let out = root;
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      out += PLAIN_KEY.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out === '' ? '(root)' : out;
}

const MAX_VALUE_CHARS = 80;

/** A value as the user wrote it, short enough for one log line. */
export function formatValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array ${formatValue(value)}`;
  if (typeof value === 'object') return `an object ${formatValue(value)}`;
  return `${typeof value} ${formatValue(value)}`;
}

// zod's type names that a person writing JSON or YAML would not use.
const EXPECTED_NAMES: Record<string, string> = { record: 'object', int: 'integer' };

/**
 * One line per zod issue: `<path>: <what is wrong>, got <value>`. Values appear when the schema was run
 * with `{ reportInput: true }` (the parse functions in this folder do); messages of `custom` and
 * `unrecognized_keys` issues are written to carry the value or key themselves.
 */
export function formatZodIssues(error: z.ZodError, root: string): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const at = formatPath(root, issue.path);
    if (issue.code === 'invalid_type') {
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      lines.push(
        issue.input === undefined
          ? `${at}: required (expected ${expected})`
          : `${at}: expected ${expected}, got ${describeType(issue.input)}`,
      );
    } else if (issue.code === 'invalid_key') {
      // A record key failed its own schema (e.g. a backend name); its nested messages say why.
      const why = issue.issues.map((inner) => inner.message).join('; ');
      lines.push(`${at}: invalid name ${formatValue(issue.input)}: ${why}`);
    } else if (issue.code === 'unrecognized_keys' || issue.code === 'custom') {
      // Our messages for these already name the keys or the value.
      lines.push(`${at}: ${issue.message}`);
    } else {
      // Scalars only: an object value is the whole entry, which the path already points at.
      const hasInput = 'input' in issue && issue.input !== undefined && typeof issue.input !== 'object';
      lines.push(`${at}: ${issue.message}${hasInput ? `, got ${formatValue(issue.input)}` : ''}`);
    }
  }
  return lines;
}

/** Edit distance, for "did you mean" hints on typos of field names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * `unknown key "comand" (did you mean "command"? allowed: command, args, …)`. `elsewhere` maps keys that
 * are valid on the other kind of entry to an explanation, so `args` on a url entry says why it is wrong.
 */
export function unknownKeysMessage(
  keys: readonly string[],
  allowed: readonly string[],
  elsewhere: Readonly<Record<string, string>> = {},
): string {
  const parts = keys.map((key) => {
    const misplaced = Object.hasOwn(elsewhere, key) ? elsewhere[key] : undefined;
    if (misplaced !== undefined) return `key ${JSON.stringify(key)} ${misplaced}`;
    const guess = closestKey(key, allowed);
    return `unknown key ${JSON.stringify(key)}${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`;
  });
  return `${parts.join('; ')} (allowed: ${allowed.join(', ')})`;
}
