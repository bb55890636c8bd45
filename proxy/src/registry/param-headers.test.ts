import { describe, expect, it } from 'vitest';
import {
  checkParamHeaders,
  decodeParamValue,
  encodeParamValue,
  paramHeadersFor,
  scanParamHeaders,
  sentParamHeaders,
} from './param-headers.js';

const schema = (properties: Record<string, unknown>) => ({ type: 'object', properties });

describe('x-mcp-header declarations', () => {
  it('finds declarations at any depth of properties', () => {
    const scan = scanParamHeaders(
      schema({
        region: { type: 'string', 'x-mcp-header': 'Region' },
        where: { type: 'object', properties: { zone: { type: 'integer', 'x-mcp-header': 'Zone' } } },
        query: { type: 'string' },
      }),
    );
    expect(scan).toEqual({
      valid: true,
      headers: [
        { path: ['region'], name: 'Region', type: 'string' },
        { path: ['where', 'zone'], name: 'Zone', type: 'integer' },
      ],
    });
  });

  it.each([
    ['an empty name', { v: { type: 'string', 'x-mcp-header': '' } }, /non-empty/],
    ['a space in the name', { v: { type: 'string', 'x-mcp-header': 'My Region' } }, /token/],
    ['a colon in the name', { v: { type: 'string', 'x-mcp-header': 'A:B' } }, /token/],
    ['a non-ASCII name', { v: { type: 'string', 'x-mcp-header': 'Région' } }, /token/],
    ['an object property', { v: { type: 'object', 'x-mcp-header': 'V' } }, /not object/],
    ['a number property', { v: { type: 'number', 'x-mcp-header': 'V' } }, /not number/],
    [
      'a name twice, case aside',
      { a: { type: 'string', 'x-mcp-header': 'Id' }, b: { type: 'string', 'x-mcp-header': 'ID' } },
      /declared twice/,
    ],
    [
      'a declaration under items',
      { v: { type: 'array', items: { type: 'string', 'x-mcp-header': 'V' } } },
      /reached through 'properties' alone/,
    ],
  ])('rejects %s', (_, properties, reason) => {
    const scan = scanParamHeaders(schema(properties));
    expect(scan.valid).toBe(false);
    expect(scan.valid ? '' : scan.reason).toMatch(reason);
  });
});

describe('Mcp-Param-* values', () => {
  it.each([
    ['us-west1', 'us-west1'],
    ['us west 1', 'us west 1'],
    ['Hello, 世界', '=?base64?SGVsbG8sIOS4lueVjA==?='],
    [' padded ', '=?base64?IHBhZGRlZCA=?='],
    ['line1\nline2', '=?base64?bGluZTEKbGluZTI=?='],
    ['=?base64?literal?=', '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?='],
  ])('encodes %j as the spec shows', (value, encoded) => {
    expect(encodeParamValue(value)).toBe(encoded);
    expect(decodeParamValue(encoded)).toBe(value);
  });

  it('refuses a sentinel around what is not Base64 of UTF-8', () => {
    expect(decodeParamValue('=?base64?not base64?=')).toBeUndefined();
    expect(decodeParamValue('=?base64?/w==?=')).toBeUndefined();
  });

  const declared = [
    { path: ['region'], name: 'Region', type: 'string' },
    { path: ['priority'], name: 'Priority', type: 'integer' },
    { path: ['verbose'], name: 'Verbose', type: 'boolean' },
  ];

  it('builds headers from arguments, none for null or absent ones', () => {
    expect(paramHeadersFor(declared, { region: 'eu', priority: 42, verbose: null })).toEqual({
      'Mcp-Param-Region': 'eu',
      'Mcp-Param-Priority': '42',
    });
    expect(paramHeadersFor(declared, { verbose: false })).toEqual({ 'Mcp-Param-Verbose': 'false' });
    expect(paramHeadersFor(declared, {})).toBeUndefined();
  });

  it('passes on the headers a client sent that the tool does not declare, never its declared ones', () => {
    const sent = { 'mcp-param-tenant': 'acme', 'mcp-param-region': 'forged' };
    expect(paramHeadersFor(declared, { region: 'eu' }, sent)).toEqual({
      'mcp-param-tenant': 'acme',
      'Mcp-Param-Region': 'eu',
    });
    expect(sentParamHeaders({ 'mcp-param-a': 'x', 'mcp-name': 'n', accept: '*/*' })).toEqual({
      'mcp-param-a': 'x',
    });
    expect(sentParamHeaders({ accept: '*/*' })).toBeUndefined();
  });

  it('checks headers against arguments, integers as numbers', () => {
    const headers = (h: Record<string, string>) => (name: string) => h[name];
    const args = { region: 'eu', priority: 42 };
    expect(
      checkParamHeaders(declared, args, headers({ 'mcp-param-region': 'eu', 'mcp-param-priority': '42.0' })),
    ).toBeUndefined();
    expect(checkParamHeaders(declared, args, headers({ 'mcp-param-region': 'eu' }))).toEqual({
      header: 'Mcp-Param-Priority',
      reason: 'the body carries priority=42 but the Mcp-Param-Priority header is absent',
    });
    expect(
      checkParamHeaders(declared, args, headers({ 'mcp-param-region': 'us', 'mcp-param-priority': '42' }))
        ?.reason,
    ).toBe('the Mcp-Param-Region header decodes to "us" but the body carries region="eu"');
  });
});
