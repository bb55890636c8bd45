import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/server';

/**
 * The part of a tool that a reviewer approves and a model reads: what a pin covers. Other fields
 * (title, icons, _meta, execution) are not part of the hash.
 */
export const DEFINITION_FIELDS = [
  'name',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
] as const;
export type DefinitionField = (typeof DEFINITION_FIELDS)[number];
export type ToolDefinition = Partial<Record<DefinitionField, unknown>>;

export function definitionOf(tool: Tool): ToolDefinition {
  const definition: ToolDefinition = {};
  for (const field of DEFINITION_FIELDS) {
    const value = (tool as Record<string, unknown>)[field];
    if (value !== undefined) definition[field] = value;
  }
  return definition;
}

/**
 * JSON with object keys sorted at every depth and no whitespace; undefined members are left
 * out (as JSON.stringify does). The same definition gives the same text in every process.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(',')}}`;
}

// Tool objects stay the same between rebuilds until the backend lists again: hash each once.
const hashes = new WeakMap<Tool, string>();

/** `sha256:<hex>` of the canonical JSON of the tool's definition, as its backend sent it. */
export function definitionHash(tool: Tool): string {
  let hash = hashes.get(tool);
  if (hash === undefined) {
    hash = hashDefinition(definitionOf(tool));
    hashes.set(tool, hash);
  }
  return hash;
}

export function hashDefinition(definition: ToolDefinition): string {
  return `sha256:${createHash('sha256').update(canonicalJson(definition)).digest('hex')}`;
}

export interface FieldChange {
  field: DefinitionField;
  before: string;
  after: string;
}

/** Which fields differ, each with a short before/after, for a log line a person can read. */
export function definitionDiff(before: ToolDefinition, after: ToolDefinition, max = 120): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of DEFINITION_FIELDS) {
    const a = before[field] === undefined ? '(none)' : canonicalJson(before[field]);
    const b = after[field] === undefined ? '(none)' : canonicalJson(after[field]);
    if (a !== b) changes.push({ field, ...around(a, b, max) });
  }
  return changes;
}

/** Both texts cut to `max` characters around where they first differ (long schemas share a start). */
function around(a: string, b: string, max: number): { before: string; after: string } {
  if (a.length <= max && b.length <= max) return { before: a, after: b };
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const start = Math.max(0, i - 20);
  const cut = (text: string): string => {
    const head = start > 0 ? '…' : '';
    const body = text.slice(start, start + max);
    return `${head}${body}${start + max < text.length ? '…' : ''}`;
  };
  return { before: cut(a), after: cut(b) };
}
