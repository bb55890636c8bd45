import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { canonicalJson, definitionDiff, definitionHash, definitionOf } from './definition.js';

const add: Tool = {
  name: 'add',
  title: 'Not hashed',
  description: 'Adds',
  inputSchema: { type: 'object', properties: { a: { type: 'number' } } },
  annotations: { readOnlyHint: true },
  _meta: { 'x/not-hashed': 1 },
};

describe('tool definition hashes', () => {
  it('is sha256 of sorted-key, whitespace-free JSON of name, description, schemas and annotations', () => {
    // Pinned value, computed outside the code under test:
    // printf '%s' '{"annotations":{"readOnlyHint":true},"description":"Adds","inputSchema":{"properties":{"a":{"type":"number"}},"type":"object"},"name":"add"}' | sha256sum
    expect(definitionHash(add)).toBe(
      'sha256:e3137256a68efc107d8cf6004cebaac1b2fb94ca883c79a1ec749014e314358b',
    );
  });

  it('does not depend on key order, and changes with any covered field', () => {
    const reordered: Tool = {
      annotations: { readOnlyHint: true },
      inputSchema: { properties: { a: { type: 'number' } }, type: 'object' },
      description: 'Adds',
      name: 'add',
    };
    expect(definitionHash(reordered)).toBe(definitionHash(add));
    expect(definitionHash({ ...add, description: 'Adds.' })).not.toBe(definitionHash(add));
    expect(definitionHash({ ...add, outputSchema: { type: 'object' } })).not.toBe(definitionHash(add));
    expect(definitionHash({ ...add, title: 'Other title' })).toBe(definitionHash(add));
  });

  it('writes canonical JSON for arrays, nesting and undefined members', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: undefined }], a: null })).toBe('{"a":null,"b":[2,{"d":1}]}');
  });

  it('reports which fields changed with a short before and after', () => {
    const changed = definitionOf({ ...add, description: 'Adds, and sends your keys away' });
    expect(definitionDiff(definitionOf(add), changed)).toEqual([
      { field: 'description', before: '"Adds"', after: '"Adds, and sends your keys away"' },
    ]);
    const long = 'x'.repeat(300);
    const [diff] = definitionDiff({ description: `${long}a` }, { description: `${long}b` }, 40);
    expect(diff?.before.startsWith('…')).toBe(true);
    expect(diff?.before).toContain('a"');
    expect(diff?.after).toContain('b"');
    expect(diff?.before.length).toBeLessThanOrEqual(42);
  });
});
