import { describe, expect, it } from 'vitest';
import { cliPath, writeTempFile } from './support/paths.js';
import { start, waitForExit } from './support/processes.js';

// A bad config must stop the proxy before it serves, with exit code 2 and a message that
// names the field, the value and what is allowed.
async function runWith(config: unknown, name = 'mcp.json', env: NodeJS.ProcessEnv = {}) {
  const path = writeTempFile(name, config);
  const proc = start(
    process.execPath,
    [cliPath, '--transport', 'http', '--port', '0', '--config', path],
    env,
  );
  const code = await waitForExit(proc);
  return { code, output: proc.output() };
}

describe('invalid configuration', () => {
  it.each([
    [
      'both command and url',
      { mcpServers: { a: { command: 'x', url: 'http://h/mcp' } } },
      /mcpServers\.a.*command.*url/,
    ],
    ['neither command nor url', { mcpServers: { a: { args: ['x'] } } }, /mcpServers\.a/],
    ['an invalid URL', { mcpServers: { weather: { url: 'htp:/x' } } }, /mcpServers\.weather\.url.*htp:\/x/],
    ['a misspelt key', { mcpServers: { a: { comand: 'x' } } }, /comand/],
    ['args that are not a list', { mcpServers: { a: { command: 'x', args: 'y' } } }, /mcpServers\.a\.args/],
    ['a bad server name', { mcpServers: { 'my server': { command: 'x' } } }, /my server/],
    ['a bad prefix', { mcpServers: { a: { command: 'x', prefix: 'a b' } } }, /mcpServers\.a\.prefix/],
    ['no mcpServers', { servers: {} }, /mcpServers/],
  ])('rejects %s', async (_what, config, message) => {
    const { code, output } = await runWith(config);
    expect(code).toBe(2);
    expect(output).toMatch(message);
  });

  it('rejects malformed JSON with the position', async () => {
    const { code, output } = await runWith('{"mcpServers": {,}}');
    expect(code).toBe(2);
    expect(output).toMatch(/mcp\.json:1:\d+/);
  });

  it('rejects an unset environment variable, naming it', async () => {
    const config = {
      mcpServers: {
        a: { url: 'http://127.0.0.1:1/mcp', headers: { Authorization: '${NO_SUCH_TOKEN_E2E}' } },
      },
    };
    const { code, output } = await runWith(config);
    expect(code).toBe(2);
    expect(output).toContain('NO_SUCH_TOKEN_E2E');
  });

  it('rejects a missing config file, naming the path', async () => {
    const proc = start(process.execPath, [cliPath, '--config', '/nonexistent/mcp.json']);
    expect(await waitForExit(proc)).toBe(2);
    expect(proc.output()).toContain('/nonexistent/mcp.json');
  });

  it('rejects a bad flag value, naming the flag and what is allowed', async () => {
    const proc = start(process.execPath, [cliPath, '--port', 'eighty']);
    expect(await waitForExit(proc)).not.toBe(0);
    expect(proc.output()).toMatch(/--port must be an integer from 0 to 65535, got "eighty"/);
  });

  it.each([
    ['an issuer without an audience', ['--oauth-issuer', 'https://as.example'], /--oauth-audience/],
    [
      'an audience that is not a URL',
      ['--oauth-issuer', 'https://as.example', '--oauth-audience', 'mcp.example.com/mcp'],
      /--oauth-audience: must be an absolute http\(s\) URL \(got "mcp\.example\.com\/mcp"\)/,
    ],
  ])('rejects OAuth flags with %s, before serving', async (_what, flags, message) => {
    const proc = start(process.execPath, [cliPath, '--transport', 'http', '--port', '0', ...flags]);
    expect(await waitForExit(proc)).toBe(2);
    expect(proc.output()).toMatch(message);
  });

  it('refuses OAuth flags with --transport stdio, naming each flag and why, instead of ignoring them', async () => {
    const config = writeTempFile('mcp.json', { mcpServers: {} });
    const flags = ['--oauth-issuer', 'https://as.example', '--oauth-audience', 'https://mcp.example/mcp'];
    const proc = start(process.execPath, [cliPath, '--transport', 'stdio', '--config', config, ...flags]);
    expect(await waitForExit(proc)).toBe(2);
    const output = proc.output();
    expect(output).toContain('--oauth-issuer, --oauth-audience cannot be used with --transport stdio');
    expect(output).toMatch(/--oauth-issuer: .*a stdio client sends no access token/);
    expect(output).toMatch(/--oauth-audience: .*use --transport http/);

    const scopes = start(process.execPath, [cliPath, '--config', config, '--oauth-scopes', 'mcp:tools']);
    expect(await waitForExit(scopes)).toBe(2);
    expect(scopes.output()).toContain('--oauth-scopes cannot be used with --transport stdio');
  });
});
