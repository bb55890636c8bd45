import { spawn } from 'node:child_process';
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
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: over stdio' }]);
    const sum = await client.callTool({ name: 'calculator__subtract', arguments: { a: 10, b: 4 } });
    expect(JSON.stringify(sum.content)).toContain('6');
    expect(sum.content).toEqual([{ type: 'text', text: '6' }]);
    expect(sum.structuredContent).toEqual({ result: 6 });
  }, 40_000);
});

describe('stdio front door purity', () => {
  it('writes nothing but JSON-RPC messages to stdout, even at --log-level debug', async () => {
    // The SDK clients route non-JSON stdout lines to onerror and carry on, so they cannot notice
    // a stray log line: read the raw bytes instead. A backend that crashes at start-up and
    // another that writes to stderr give the proxy plenty to log.
    const args = proxyArgs.map((arg) => (arg === 'warn' ? 'debug' : arg));
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const send = (message: object) => child.stdin.write(JSON.stringify(message) + '\n');
      const answered = (id: number) =>
        stdout
          .split('\n')
          .some((line) => line.startsWith('{') && (JSON.parse(line) as { id?: unknown }).id === id);
      const waitFor = async (what: string, done: () => boolean, ms = 30_000) => {
        const deadline = Date.now() + ms;
        while (!done()) {
          if (Date.now() > deadline)
            throw new Error(`${what} not within ${ms} ms; stdout:\n${stdout}\nstderr:\n${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      };
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      await waitFor('initialize answered', () => answered(1));
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      send({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'calculator__add', arguments: { a: 2, b: 3 } },
      });
      send({
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: { name: 'calculator__add', arguments: { a: 'x' } },
      });
      send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'nope__tool', arguments: {} } });
      await waitFor('every request answered', () => [2, 3, 4, 5].every(answered));
      await waitFor('debug lines logged', () => / DEBUG /.test(stderr + stdout));
    } finally {
      // Closing stdin ends the proxy; it must not outlive the test either way.
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }

    const lines = stdout.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout carried a line that is not JSON: ${line}`);
      }
      expect(message['jsonrpc'], line).toBe('2.0');
      expect('method' in message || 'result' in message || 'error' in message, line).toBe(true);
    }
    expect(stderr).toMatch(/ DEBUG /);
    expect(stderr).toContain('crash-at-start: failing on purpose');
    const sum = lines
      .map((line) => JSON.parse(line) as { id?: number; result?: unknown })
      .find((m) => m.id === 3);
    expect(sum?.result).toMatchObject({ content: [{ type: 'text', text: '5' }] });
  }, 60_000);
});
