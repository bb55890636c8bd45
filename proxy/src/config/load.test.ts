import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { ConfigError } from './errors.js';
import { loadConfigFile, resolveDefaultConfigPath } from './load.js';

const testdata = fileURLToPath(new URL('testdata/', import.meta.url));

/** Malformed fixtures are written at test time: prettier would refuse them in the tree. */
function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'multi-mcp-config-')), name);
  writeFileSync(path, text);
  return path;
}

async function loadError(path: string, env: Record<string, string> = {}): Promise<ConfigError> {
  const error: unknown = await loadConfigFile(path, env).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

describe('loadConfigFile', () => {
  it('loads a JSON file: expands env, normalizes aliases, drops desktop keys, resolves cwd', async () => {
    const config = await loadConfigFile(join(testdata, 'valid.json'), { WEATHER_TOKEN: 't0k' });
    expect(config.path).toBe(join(testdata, 'valid.json'));
    expect(config.backends).toEqual({
      calc: {
        command: 'node',
        args: ['calc.js', '--verbose'],
        env: { API_KEY: 'dev-key' },
        cwd: join(testdata, 'sub'),
        prefix: 'math',
        tools: { include: ['add*'], exclude: ['add_secret'] },
        timeoutMs: 5000,
      },
      weather: {
        url: 'https://weather.example.com/mcp',
        transport: 'streamable-http',
        headers: { Authorization: 'Bearer t0k' },
      },
      legacy: { url: 'http://localhost:3001/sse', transport: 'sse', disabled: true },
    });
  });

  it('takes a set variable over the default', async () => {
    const config = await loadConfigFile(join(testdata, 'valid.json'), {
      WEATHER_TOKEN: 't',
      CALC_KEY: 'prod',
    });
    expect(config.backends.calc).toMatchObject({ env: { API_KEY: 'prod' } });
  });

  it('loads YAML, keeping an absolute cwd and an empty prefix', async () => {
    const config = await loadConfigFile(join(testdata, 'valid.yaml'), {});
    expect(config.backends).toEqual({
      calc: { command: 'node', args: ['calc.js'], cwd: '/opt/calc' },
      docs: { url: 'https://docs.example.com/mcp', transport: 'streamable-http', prefix: '' },
    });
  });

  it('resolves a relative path argument against the working directory', async () => {
    const relative = join('proxy', 'src', 'config', 'testdata', 'valid.yaml');
    const config = await loadConfigFile(relative, {});
    expect(config.path).toBe(join(process.cwd(), relative));
  });

  it('names the missing file', async () => {
    const path = join(testdata, 'nope.json');
    const error = await loadError(path);
    expect(error.issues).toEqual([`${path}: file not found`]);
    expect(error.message).toContain(path);
  });

  it('reports a JSON syntax error with file, line and column', async () => {
    const path = tempFile('mcp.json', '{\n  "mcpServers": {\n    "calc": { "command": "node", }\n  }\n}\n');
    const error = await loadError(path);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatch(new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}:3:34: invalid JSON: `));
  });

  it('reports truncated JSON at its end, and an empty file as such', async () => {
    expect((await loadError(tempFile('mcp.json', '{\n  "mcpServers": {'))).issues[0]).toMatch(
      /:2:18: invalid JSON: /,
    );
    expect((await loadError(tempFile('mcp.json', '  \n'))).issues[0]).toMatch(/: file is empty/);
  });

  it('reports a YAML syntax error with line and column', async () => {
    const path = tempFile('mcp.yml', 'mcpServers:\n  calc:\n    command: node\n   args: [x]\n');
    const [line] = (await loadError(path)).issues;
    expect(line).toMatch(new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}:4:\\d+: invalid YAML: `));
  });

  it('reports every validation problem with its path and the file', async () => {
    const error = await loadError(join(testdata, 'invalid.json'));
    expect(error.message).toContain(`invalid configuration in ${join(testdata, 'invalid.json')}`);
    expect(error.issues).toEqual([
      expect.stringMatching(/^mcpServers\.calc: unknown key "comand" \(did you mean "command"\?\)/),
      'mcpServers.calc: missing command (a local process) or url (a remote server): set exactly one',
      'mcpServers.weather.url: Invalid URL "htp:/x" (expected an http:// or https:// URL)',
    ]);
  });

  it('reports an unset variable with its path and the file', async () => {
    const error = await loadError(join(testdata, 'valid.json'));
    expect(error.summary).toBe(`cannot expand environment variables in ${join(testdata, 'valid.json')}`);
    expect(error.issues).toEqual([
      'mcpServers.weather.headers.Authorization: environment variable WEATHER_TOKEN is not set (use ${WEATHER_TOKEN:-default} for a default)',
    ]);
  });

  it('accepts a byte-order mark', async () => {
    const config = await loadConfigFile(
      tempFile('mcp.json', '\ufeff{"mcpServers":{"a":{"command":"x"}}}'),
      {},
    );
    expect(config.backends).toEqual({ a: { command: 'x' } });
  });
});

describe('resolveDefaultConfigPath', () => {
  it('prefers ./mcp.json, else the shipped example', () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-cwd-'));
    expect(resolveDefaultConfigPath(dir, '/pkg/mcp.example.json')).toBe('/pkg/mcp.example.json');
    writeFileSync(join(dir, 'mcp.json'), '{}');
    expect(resolveDefaultConfigPath(dir, '/pkg/mcp.example.json')).toBe(join(dir, 'mcp.json'));
  });
});
