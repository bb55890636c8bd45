import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyClient } from './support/clients.js';
import { v1Stdio } from './support/clients.js';
import { cliPath, everythingBin, fixture, writeTempFile } from './support/paths.js';

// The proxy as a desktop client runs it: a child process speaking MCP on stdin/stdout.
const config = writeTempFile('mcp.json', {
  mcpServers: {
    everything: { command: process.execPath, args: [everythingBin, 'stdio'] },
    calculator: fixture('calculator.ts'),
    broken: fixture('crash-at-start.ts'),
  },
});
const proxyArgs = [cliPath, '--transport', 'stdio', '--config', config, '--log-level', 'warn'];
const clients: AnyClient[] = [];

afterAll(async () => {
  // Closing the client closes the proxy's stdin; the proxy then stops its backends and exits.
  await Promise.all(clients.map((c) => c.close()));
});

async function v2Stdio(): Promise<ClientV2> {
  const client = new ClientV2({ name: 'e2e', version: '1.0.0' });
  await client.connect(new StdioV2({ command: process.execPath, args: proxyArgs, stderr: 'pipe' }));
  return client;
}

describe.each([
  ['v1 client', () => v1Stdio(process.execPath, proxyArgs)],
  ['v2 client', v2Stdio],
])('stdio front door with the %s', (_name, connect) => {
  it('aggregates backends and relays calls, with a broken backend beside them', async () => {
    const client = await connect();
    clients.push(client);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['everything__echo', 'calculator__add']));
    const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'over stdio' } });
    expect(JSON.stringify(result.content)).toContain('over stdio');
    const sum = await client.callTool({ name: 'calculator__subtract', arguments: { a: 10, b: 4 } });
    expect(JSON.stringify(sum.content)).toContain('6');
  }, 40_000);
});
