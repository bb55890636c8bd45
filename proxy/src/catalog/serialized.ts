import { createHash } from 'node:crypto';
import type { Catalog } from './catalog.js';

// Catalog items (tools, prompts, resources, templates) are never mutated, and an unchanged
// backend's items keep their identity from one catalog build to the next (catalog.ts reuses each
// backend's part): so each item is serialised once, and a list of 10,000 tools is its items'
// texts joined, not a JSON.stringify of the whole list per build or per request.

const texts = new WeakMap<object, string>();
const bytes = new WeakMap<object, Buffer>();
const digests = new WeakMap<object, string>();

/** `JSON.stringify(item)`, once per item. */
export function itemJson(item: object): string {
  let text = texts.get(item);
  if (text === undefined) {
    text = JSON.stringify(item);
    texts.set(item, text);
  }
  return text;
}

function itemBytes(item: object): Buffer {
  let encoded = bytes.get(item);
  if (encoded === undefined) {
    encoded = Buffer.from(itemJson(item));
    bytes.set(item, encoded);
  }
  return encoded;
}

function itemDigest(item: object): string {
  let digest = digests.get(item);
  if (digest === undefined) {
    digest = createHash('sha1').update(itemJson(item)).digest('base64url');
    digests.set(item, digest);
  }
  return digest;
}

/**
 * A digest of what the lists hold, in order: equal lists give equal digests, and any change of an
 * item, of the order or of which list an item is in gives another. Hashes each item's digest, so a
 * rebuild hashes a few hundred kilobytes whatever the size of the definitions.
 */
export function listDigest(...lists: readonly (readonly object[])[]): string {
  const parts: string[] = [];
  for (const list of lists) {
    parts.push(`[${list.length}`);
    for (const item of list) parts.push(itemDigest(item));
  }
  // One update: per-call overhead, not bytes, is what 10,000 small updates cost.
  return createHash('sha1').update(parts.join('')).digest('base64url');
}

/** `JSON.stringify(list)` by joining the items' texts: the same string (items are plain objects). */
export function listJson(list: readonly object[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + itemJson(list[i] as object);
  return `${out}]`;
}

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

const lists = new WeakMap<Catalog, Partial<Record<ListKind, Buffer>>>();

/**
 * One of a catalog's lists as UTF-8 JSON, made once per catalog snapshot (and per view: views are
 * cached per catalog, see view.ts), for front doors that write a whole-list answer as it is.
 */
export function catalogListBytes(catalog: Catalog, kind: ListKind): Buffer {
  let byKind = lists.get(catalog);
  if (!byKind) lists.set(catalog, (byKind = {}));
  // Joined from each item's encoded bytes: after one backend changed, only its items are encoded.
  return (byKind[kind] ??= listBytes(catalog[kind]));
}

const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

function listBytes(list: readonly object[]): Buffer {
  const chunks: Buffer[] = [OPEN];
  for (let i = 0; i < list.length; i++) {
    if (i > 0) chunks.push(COMMA);
    chunks.push(itemBytes(list[i] as object));
  }
  chunks.push(CLOSE);
  return Buffer.concat(chunks);
}
