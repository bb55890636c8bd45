import { describe, expect, it } from 'vitest';
import { allowCommands } from './allow-command.js';

describe('allowCommands', () => {
  const policy = allowCommands(['node', 'uvx', '/opt/mcp/bin/*', './tools/*']);
  const stdio = (command: string, env?: Record<string, string>) => ({ command, ...(env && { env }) });

  it('allows the listed commands, as written', () => {
    for (const command of ['node', 'uvx', '/opt/mcp/bin/weather', './tools/calc']) {
      expect(policy('x', stdio(command)), command).toBeUndefined();
    }
  });

  it('refuses anything else, naming the command, the server and the flag that would allow it', () => {
    for (const command of [
      'python',
      '/usr/bin/node',
      './node',
      '/opt/mcp/bin/sub/x',
      'nodejs',
      'sh',
      'tools/calc',
    ]) {
      const refusal = policy('weather', stdio(command));
      expect(refusal, command).toContain(`command ${JSON.stringify(command)} of mcpServers.weather`);
      expect(refusal).toContain(`--allow-command ${JSON.stringify(command)}`);
      expect(refusal).toContain('config file');
    }
  });

  it('refuses ".." segments and loader variables that would change what an allowed name runs', () => {
    expect(policy('x', stdio('/opt/mcp/bin/../../../bin/sh'))).toContain('".."');
    expect(policy('x', stdio('node', { PATH: '/tmp/evil' }))).toContain('env.PATH');
    expect(policy('x', stdio('node', { LD_PRELOAD: '/tmp/evil.so' }))).toContain('env.LD_PRELOAD');
    expect(policy('x', stdio('node', { API_KEY: 'k' }))).toBeUndefined();
  });

  it('never restricts URL backends, and without a list allows everything', () => {
    expect(policy('x', { url: 'http://127.0.0.1:9/mcp' })).toBeUndefined();
    expect(allowCommands([])('x', stdio('/bin/sh', { PATH: '/tmp' }))).toBeUndefined();
  });
});
