import { createHash } from 'node:crypto';

export interface NamingOptions {
  /** Between prefix and original name; `__` by default because LLM tool APIs reject `:`. */
  separator: string;
  /** Longest exposed name; LLM tool-calling APIs accept at most 64 characters. */
  maxLength: number;
}

export const defaultNaming: NamingOptions = { separator: '__', maxLength: 64 };

/** `<prefix><separator><name>`, or the name unchanged when the prefix is empty. */
export function exposedName(prefix: string, name: string, naming: NamingOptions): string {
  return shorten(prefix === '' ? name : `${prefix}${naming.separator}${name}`, naming.maxLength);
}

/**
 * Truncates an over-long name and appends a short hash of the full name, so the result is the
 * same on every restart and every replica, and two long names sharing a start stay distinct.
 */
export function shorten(name: string, maxLength: number): string {
  if (name.length <= maxLength) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, Math.max(0, maxLength - hash.length - 1))}_${hash}`;
}
