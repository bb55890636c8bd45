import { describe, expect, it } from 'vitest';
import { parseMcpJson } from './contract.js';
import { ConfigError } from './errors.js';
import { missingClaims, virtualSpecsEqual } from './virtual.js';

function issuesOf(input: unknown): string[] {
  try {
    parseMcpJson(input, 'mcp.json');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('virtualServers in mcp.json', () => {
  it('accepts every key as optional', () => {
    const config = parseMcpJson(
      {
        mcpServers: {},
        virtualServers: {
          all: {},
          team: {
            backends: ['a'],
            tools: { include: ['a__*'] },
            scopes: ['s'],
            claims: { groups: ['x', 'y'] },
          },
        },
      },
      'mcp.json',
    );
    expect(Object.keys(config.virtualServers ?? {})).toEqual(['all', 'team']);
  });

  it('names the field and the value of each mistake', () => {
    const issues = issuesOf({
      mcpServers: {},
      virtualServers: {
        'bad name': {},
        team: { backend: ['a'], tools: { include: [''] }, scopes: ['a b'], claims: { groups: 3 } },
      },
    });
    expect(issues.join('\n')).toContain('bad name');
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^virtualServers\.team: .*backend.*allowed: backends, tools, scopes, claims/),
        expect.stringMatching(/^virtualServers\.team\.tools\.include\[0\]: a tool pattern must not be empty/),
        expect.stringMatching(/^virtualServers\.team\.scopes\[0\]: a scope/),
        expect.stringMatching(/^virtualServers\.team\.claims\.groups: a claim must be a string or a list/),
      ]),
    );
  });
});

describe('claim matching', () => {
  it('matches a string claim by equality and an array claim by containment; all claims must match', () => {
    const spec = { claims: { groups: 'team-a', tier: ['gold', 'silver'] } };
    expect(missingClaims(spec, { groups: 'team-a', tier: 'gold' })).toEqual([]);
    expect(missingClaims(spec, { groups: ['team-b', 'team-a'], tier: ['silver'] })).toEqual([]);
    expect(missingClaims(spec, { groups: 'team-ab', tier: 'gold' })).toEqual(['groups']);
    expect(missingClaims(spec, { groups: ['team-b'] })).toEqual(['groups', 'tier']);
    // Objects never match, and a claim named like an Object property is not inherited.
    expect(missingClaims({ claims: { constructor: 'x' } }, {})).toEqual(['constructor']);
    expect(missingClaims({ claims: { groups: 'team-a' } }, { groups: { name: 'team-a' } })).toEqual([
      'groups',
    ]);
    expect(missingClaims({ claims: { level: '3' } }, { level: 3 })).toEqual([]);
  });

  it('compares definitions structurally, key order aside', () => {
    expect(virtualSpecsEqual({ backends: ['a'], scopes: ['s'] }, { scopes: ['s'], backends: ['a'] })).toBe(
      true,
    );
    expect(virtualSpecsEqual({ backends: ['a', 'b'] }, { backends: ['b', 'a'] })).toBe(false);
  });
});
