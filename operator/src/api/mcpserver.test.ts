import { describe, expect, it } from 'vitest';
import { McpServerSpecSchema } from './mcpserver.js';

const issues = (spec: unknown): string[] => {
  const result = McpServerSpecSchema.safeParse(spec);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('McpServer spec schema', () => {
  it('accepts each mode and applies deployment defaults', () => {
    expect(issues({ command: 'node', args: ['x.js'], env: [{ name: 'A', value: '1' }] })).toEqual([]);
    expect(issues({ url: 'https://mcp.example.com/mcp', transport: 'sse', prefix: '' })).toEqual([]);
    const parsed = McpServerSpecSchema.parse({ deployment: { image: 'ghcr.io/x/y:1' } });
    expect(parsed.deployment).toMatchObject({ port: 8080, path: '/mcp', replicas: 1 });
  });

  it.each([
    ['no mode', {}, 'set exactly one of command'],
    ['two modes', { command: 'node', url: 'http://a' }, 'set exactly one of command'],
    ['a bad URL', { url: 'ftp://x' }, 'url: url must be an absolute http:// or https:// URL'],
    ['a bad prefix', { url: 'http://a', prefix: 'no spaces' }, 'prefix: prefix must be empty'],
    ['env on a remote server', { url: 'http://a', env: [] }, 'env: env is only for a stdio server'],
    ['headers on a stdio server', { command: 'x', headers: [] }, 'headers is only for a remote server'],
    [
      'env with value and valueFrom',
      {
        command: 'x',
        env: [{ name: 'A', value: '1', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      },
      'env.0: set value or valueFrom, not both',
    ],
    [
      'a header without a value',
      { url: 'http://a', headers: [{ name: 'Authorization' }] },
      'a header needs exactly one of value or valueFrom.secretKeyRef',
    ],
  ])('rejects %s with a message naming the field', (_title, spec, fragment) => {
    expect(issues(spec).join('\n')).toContain(fragment);
  });
});
