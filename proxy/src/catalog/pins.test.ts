import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { definitionHash } from './definition.js';
import { PinBook } from './pins.js';

const log = createLogger('error', () => {});
const tool = (name: string, description = 'v1'): Tool => ({
  name,
  description,
  inputSchema: { type: 'object' },
});

describe('PinBook', () => {
  it('first-seen pins each tool to the definition it had when first seen, and persists it', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'pins-unit-'));
    const book = new PinBook({ policy: 'first-seen', stateDir, log });
    book.observe('s', [tool('a')]);
    book.observe('s', [tool('a', 'v2')]);
    const verdict = book.verdictFor('s', undefined);
    expect(verdict('a', definitionHash(tool('a')))).toEqual({
      state: 'match',
      pin: definitionHash(tool('a')),
      source: 'first-seen',
    });
    expect(verdict('a', definitionHash(tool('a', 'v2'))).state).toBe('drifted');

    const again = new PinBook({ policy: 'first-seen', stateDir, log });
    expect(again.verdictFor('s', undefined)('a', definitionHash(tool('a', 'v2'))).state).toBe('drifted');
    expect(readdirSync(join(stateDir, 'pins'))).toEqual(['s.json']);
  });

  it('lets a spec pin win over a recorded one, and holds unpinned tools under strict', () => {
    const book = new PinBook({ policy: 'strict', log });
    book.approve('s', { a: definitionHash(tool('a')) });
    const spec = { a: definitionHash(tool('a', 'v2')) };
    expect(book.verdictFor('s', spec)('a', definitionHash(tool('a', 'v2')))).toMatchObject({
      state: 'match',
      source: 'spec',
    });
    expect(book.verdictFor('s', undefined)('a', definitionHash(tool('a')))).toMatchObject({
      state: 'match',
      source: 'approved',
    });
    expect(book.verdictFor('s', undefined)('b', definitionHash(tool('b')))).toEqual({ state: 'held' });
    expect(new PinBook({ policy: 'off', log }).verdictFor('s', undefined)('b', 'x')).toEqual({
      state: 'none',
    });
  });

  it('moves an unreadable record file aside instead of trusting or overwriting it', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'pins-unit-'));
    mkdirSync(join(stateDir, 'pins'));
    writeFileSync(
      join(stateDir, 'pins', 's.json'),
      '{"version":1,"backend":"s","tools":{"a":{"hash":"nope"}}}',
    );
    const book = new PinBook({ policy: 'first-seen', stateDir, log });
    book.observe('s', [tool('a')]);
    const files = readdirSync(join(stateDir, 'pins')).sort();
    expect(files).toHaveLength(2);
    expect(files[1]).toMatch(/^s\.json\.unreadable-\d+$/);
    const saved = JSON.parse(readFileSync(join(stateDir, 'pins', 's.json'), 'utf8')) as {
      tools: Record<string, { hash: string }>;
    };
    expect(saved.tools['a']?.hash).toBe(definitionHash(tool('a')));
  });
});
