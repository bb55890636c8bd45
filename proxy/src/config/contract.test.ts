import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { BackendSpecSchema, isStdioBackend, parseBackendSpec, parseMcpJson, specsEqual } from './contract.js';
import type { BackendSpec } from './contract.js';
import { ConfigError } from './errors.js';

/** The issue lines a user would see for a bad mcp.json document. */
function issuesOf(document: unknown): string[] {
  try {
    parseMcpJson(document, 'mcp.json');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const servers = (entries: Record<string, unknown>) => ({ mcpServers: entries });

describe('parseMcpJson: valid entries', () => {
  it('accepts a stdio entry with every field and keeps it as written', () => {
    const spec = {
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-memory'],
      env: { DEBUG: '1' },
      cwd: '/srv',
      prefix: 'mem',
      tools: { include: ['read_*'], exclude: ['read_secret'] },
      timeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      disabled: false,
    };
    expect(parseMcpJson(servers({ memory: spec }), 'mcp.json').mcpServers.memory).toEqual(spec);
  });

  it('accepts a remote entry and leaves transport unset when not given', () => {
    const parsed = parseMcpJson(servers({ w: { url: 'https://x.example/mcp' } }), 'mcp.json');
    expect(parsed.mcpServers.w).toEqual({ url: 'https://x.example/mcp' });
  });

  it.each([
    ['type', 'http', 'streamable-http'],
    ['type', 'streamable-http', 'streamable-http'],
    ['type', 'streamableHttp', 'streamable-http'],
    ['type', 'sse', 'sse'],
    ['transport', 'streamableHttp', 'streamable-http'],
    ['transport', 'http', 'streamable-http'],
    ['transport', 'sse', 'sse'],
  ])('normalizes desktop alias %s: %s to transport %s', (key, value, transport) => {
    const spec = parseBackendSpec({ url: 'http://localhost:1/mcp', [key]: value }, 'mcpServers.x');
    expect(spec).toEqual({ url: 'http://localhost:1/mcp', transport });
    expect(spec).not.toHaveProperty('type');
  });

  it('drops type: stdio on a command entry', () => {
    expect(parseBackendSpec({ command: 'node', type: 'stdio' }, 'mcpServers.x')).toEqual({ command: 'node' });
  });

  it('accepts and drops the keys desktop clients add', () => {
    const pasted = { command: 'node', autoApprove: ['a'], alwaysAllow: [], description: 'd', timeout: 60 };
    expect(parseBackendSpec(pasted, 'mcpServers.x')).toEqual({ command: 'node' });
    const remote = { url: 'https://a.example', autoApprove: [], timeout: 30 };
    expect(parseBackendSpec(remote, 'mcpServers.x')).toEqual({ url: 'https://a.example' });
  });

  it('accepts an empty prefix (names exposed unchanged)', () => {
    expect(parseBackendSpec({ command: 'node', prefix: '' }, 'mcpServers.x')).toEqual({
      command: 'node',
      prefix: '',
    });
  });

  it('tells stdio from remote specs', () => {
    expect(isStdioBackend(parseBackendSpec({ command: 'node' }, 'x'))).toBe(true);
    expect(isStdioBackend(parseBackendSpec({ url: 'http://a' }, 'x'))).toBe(false);
  });

  it('exposes the schema for reuse (admin API, operator)', () => {
    expect(BackendSpecSchema.safeParse({ command: 'node' }).success).toBe(true);
  });
});

describe('parseMcpJson: mistakes name the field, the value and what is allowed', () => {
  it('rejects both command and url', () => {
    expect(issuesOf(servers({ calc: { command: 'node', url: 'http://a' } }))).toEqual([
      'mcpServers.calc: set either command (a local process) or url (a remote server), not both',
    ]);
  });

  it('rejects neither command nor url', () => {
    expect(issuesOf(servers({ calc: { args: ['x'] } }))).toEqual([
      'mcpServers.calc: missing command (a local process) or url (a remote server): set exactly one',
    ]);
  });

  it('names a typo of command and suggests the right key', () => {
    const [typo, missing] = issuesOf(servers({ calc: { comand: 'node' } }));
    expect(typo).toMatch(
      /^mcpServers\.calc: unknown key "comand" \(did you mean "command"\?\) \(allowed: command, args, env, cwd, /,
    );
    expect(missing).toContain('missing command');
  });

  it('names an unknown key next to a valid command', () => {
    const [line] = issuesOf(servers({ calc: { command: 'node', arg: ['x'] } }));
    expect(line).toMatch(
      /^mcpServers\.calc: unknown key "arg" \(did you mean "args"\?\) \(allowed: command, args, env, cwd, prefix, tools, timeoutMs, connectTimeoutMs, disabled\)$/,
    );
  });

  it('explains a key that belongs to the other kind of entry', () => {
    const [line] = issuesOf(servers({ w: { url: 'https://a.example', args: ['x'] } }));
    expect(line).toContain('mcpServers.w: key "args" is for a local process (command); this entry has url');
    expect(line).toContain('allowed: url, transport, headers,');
  });

  it('rejects a bad URL with the value', () => {
    expect(issuesOf(servers({ weather: { url: 'htp:/x' } }))).toEqual([
      'mcpServers.weather.url: Invalid URL "htp:/x" (expected an http:// or https:// URL)',
    ]);
    expect(issuesOf(servers({ weather: { url: 'ftp://a.example' } }))[0]).toContain(
      'Invalid URL "ftp://a.example"',
    );
  });

  it('rejects an unknown transport and lists the accepted values', () => {
    expect(issuesOf(servers({ w: { url: 'http://a', transport: 'websocket' } }))).toEqual([
      'mcpServers.w.transport: must be "streamable-http" or "sse" (aliases: "http", "streamableHttp"), got "websocket"',
    ]);
  });

  it('rejects a type that contradicts transport, and type: stdio on a url entry', () => {
    expect(issuesOf(servers({ w: { url: 'http://a', type: 'sse', transport: 'http' } }))[0]).toBe(
      'mcpServers.w.type: type "sse" contradicts transport "http"; set only transport',
    );
    expect(issuesOf(servers({ w: { url: 'http://a', type: 'stdio' } }))[0]).toContain(
      'mcpServers.w.type: "stdio" needs command (a local process), but this entry has url',
    );
  });

  it('reports wrong types with the value', () => {
    expect(
      issuesOf(servers({ calc: { command: 'node', args: 'x.js', env: { PORT: 8080 }, disabled: 'yes' } })),
    ).toEqual([
      'mcpServers.calc.args: expected array, got string "x.js"',
      'mcpServers.calc.env.PORT: expected string, got number 8080',
      'mcpServers.calc.disabled: expected boolean, got string "yes"',
    ]);
    expect(issuesOf(servers({ calc: { command: 42 } }))).toEqual([
      'mcpServers.calc.command: expected string, got number 42',
    ]);
    expect(issuesOf(servers({ calc: 'node calc.js' }))[0]).toBe(
      'mcpServers.calc: expected an object with command (a local process) or url (a remote server), got "node calc.js"',
    );
  });

  it('rejects tools.include that is not an array, and unknown keys in tools', () => {
    expect(issuesOf(servers({ calc: { command: 'node', tools: { include: 'add*' } } }))).toEqual([
      'mcpServers.calc.tools.include: expected array, got string "add*"',
    ]);
    expect(issuesOf(servers({ calc: { command: 'node', tools: { exlude: ['a'] } } }))[0]).toBe(
      'mcpServers.calc.tools: unknown key "exlude" (did you mean "exclude"?) (allowed: include, exclude, overrides, pins)',
    );
  });

  it('rejects malformed pins and overrides, naming the tool, the field and the value', () => {
    const tools = (t: unknown) => servers({ calc: { command: 'node', tools: t } });
    expect(issuesOf(tools({ pins: { add: 'sha256:abc' } }))).toEqual([
      `mcpServers.calc.tools.pins.add: a pin is "sha256:" followed by 64 lowercase hex digits (GET /mcp_servers/{name} shows each tool's hash), got "sha256:abc"`,
    ]);
    expect(issuesOf(tools({ pins: { add: `sha256:${'A'.repeat(64)}` } }))[0]).toMatch(/lowercase hex/);
    expect(issuesOf(tools({ overrides: { add: { name: 'plus sign' } } }))).toEqual([
      'mcpServers.calc.tools.overrides.add.name: an override name is 1–64 characters of letters, digits, "_" and "-", got "plus sign"',
    ]);
    expect(issuesOf(tools({ overrides: { add: {} } }))).toEqual([
      'mcpServers.calc.tools.overrides.add: an override sets name, description or both',
    ]);
    expect(issuesOf(tools({ overrides: { add: { title: 'x' } } }))[0]).toMatch(
      /^mcpServers\.calc\.tools\.overrides\.add: unknown key "title".*allowed: name, description/,
    );
    expect(issuesOf(tools({ overrides: { add: { name: 'sum' }, plus: { name: 'sum' } } }))).toEqual([
      'mcpServers.calc.tools.overrides.plus.name: "sum" is already the override name of "add"',
    ]);
  });

  it('accepts overrides and pins and keeps them as written', () => {
    const pin = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const tools = {
      include: ['a*'],
      overrides: { add: { name: 'sum', description: 'Adds' } },
      pins: { add: pin },
    };
    const parsed = parseMcpJson(servers({ calc: { command: 'node', tools } }), 'test');
    expect(parsed.mcpServers['calc']?.tools).toEqual(tools);
  });

  it('rejects out-of-range and fractional timeouts', () => {
    expect(issuesOf(servers({ calc: { command: 'node', timeoutMs: 0 } }))).toEqual([
      'mcpServers.calc.timeoutMs: must be between 1 and 3600000 milliseconds, got 0',
    ]);
    expect(issuesOf(servers({ calc: { command: 'node', connectTimeoutMs: 1.5 } }))).toEqual([
      'mcpServers.calc.connectTimeoutMs: expected integer, got number 1.5',
    ]);
  });

  it('rejects a bad backend name', () => {
    expect(issuesOf(servers({ 'my server': { command: 'node' } }))).toEqual([
      'mcpServers["my server"]: invalid name "my server": a backend name is 1–64 characters of letters, digits, "_" and "-"',
    ]);
    expect(issuesOf(servers({ ['x'.repeat(65)]: { command: 'node' } }))[0]).toContain('1–64 characters');
  });

  it('rejects a bad prefix', () => {
    expect(issuesOf(servers({ calc: { command: 'node', prefix: 'my::calc' } }))).toEqual([
      'mcpServers.calc.prefix: prefix must be empty (names exposed unchanged) or 1–64 characters of letters, digits, "_" and "-", got "my::calc"',
    ]);
  });

  it('rejects an empty command', () => {
    expect(issuesOf(servers({ calc: { command: '' } }))).toEqual([
      'mcpServers.calc.command: command must not be empty, got ""',
    ]);
  });

  it('rejects unknown top-level keys and a missing mcpServers', () => {
    expect(issuesOf({ servers: {} })).toEqual([
      'mcpServers: required (expected object)',
      '(root): key "servers" is what VS Code calls it; multi-mcp reads "mcpServers" (the Claude Desktop format) (allowed: mcpServers, virtualServers, $schema)',
    ]);
    expect(issuesOf({ mcpServers: {}, extra: 1 })).toEqual([
      '(root): unknown key "extra" (allowed: mcpServers, virtualServers, $schema)',
    ]);
  });

  it('reports every problem at once, across backends', () => {
    expect(issuesOf(servers({ a: { url: 'nope' }, b: { command: 'x', env: [] } }))).toHaveLength(2);
  });

  it('truncates long values', () => {
    const [line] = issuesOf(servers({ w: { url: 'x'.repeat(200) } }));
    expect(line!.length).toBeLessThan(160);
    expect(line).toContain('…');
  });

  it('puts the path prefix from the caller on parseBackendSpec errors', () => {
    expect(() => parseBackendSpec({ url: 'htp:/x' }, 'mcpServers.weather')).toThrow(
      'invalid backend definition mcpServers.weather: mcpServers.weather.url: Invalid URL "htp:/x"',
    );
  });
});

describe('specsEqual', () => {
  const spec = (value: unknown): BackendSpec => parseBackendSpec(value, 'x');

  it('ignores key order, also in nested maps', () => {
    const a = spec({ command: 'node', args: ['a'], env: { A: '1', B: '2' }, tools: { include: ['x'] } });
    const b = spec({ tools: { include: ['x'] }, env: { B: '2', A: '1' }, args: ['a'], command: 'node' });
    expect(specsEqual(a, b)).toBe(true);
  });

  it('compares normalized specs, so aliases are equal', () => {
    expect(
      specsEqual(
        spec({ url: 'http://a', type: 'http' }),
        spec({ url: 'http://a', transport: 'streamable-http' }),
      ),
    ).toBe(true);
  });

  it('detects a changed arg, env value, header or option', () => {
    const base = { command: 'node', args: ['a', 'b'], env: { A: '1' } };
    expect(specsEqual(spec(base), spec({ ...base, args: ['a', 'c'] }))).toBe(false);
    expect(specsEqual(spec(base), spec({ ...base, args: ['a'] }))).toBe(false);
    expect(specsEqual(spec(base), spec({ ...base, env: { A: '2' } }))).toBe(false);
    expect(specsEqual(spec(base), spec({ ...base, disabled: true }))).toBe(false);
    expect(
      specsEqual(
        spec({ url: 'http://a', headers: { X: '1' } }),
        spec({ url: 'http://a', headers: { X: '2' } }),
      ),
    ).toBe(false);
    expect(specsEqual(spec({ url: 'http://a' }), spec({ command: 'a' }))).toBe(false);
  });
});

describe('the contract module', () => {
  it('has no Node-specific imports (the operator imports it)', () => {
    for (const file of ['contract.ts', 'errors.ts']) {
      const source = readFileSync(new URL(file, import.meta.url), 'utf8');
      expect(source).not.toMatch(/from '(node:|fs|path|os)/);
      expect(source).not.toMatch(/process\./);
    }
  });
});
