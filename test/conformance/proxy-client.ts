import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

/**
 * The conformance suite's client side with the proxy as the client under test: the suite starts
 * its scenario server and runs this with the server's URL as the last argument. This starts the
 * proxy (stdio front door, built CLI) with that URL as its only backend (empty prefix) and, as a
 * user would, lists the tools through it and calls them; what the scenario server checks is what
 * the proxy sent it. Exit code 0 unless the proxy could not be driven.
 */

const url = process.argv.at(-1);
if (!url?.startsWith('http')) {
  process.stderr.write('usage: proxy-client.ts <server url>\n');
  process.exit(2);
}
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-conformance-client-'));
const config = join(dir, 'mcp.json');
writeFileSync(config, JSON.stringify({ mcpServers: { scenario: { url, prefix: '' } } }));

const client = new Client({ name: 'conformance-driver', version: '1.0.0' });
await client.connect(
  new StdioClientTransport({
    command: process.execPath,
    args: [
      join(repoRoot, 'proxy/dist/cli.js'),
      '--transport',
      'stdio',
      '--config',
      config,
      '--log-level',
      process.env.DRIVER_LOG_LEVEL ?? 'warn',
    ],
    stderr: 'inherit',
  }),
);
try {
  const { tools } = await client.listTools();
  for (const tool of tools) {
    const args = tool.name === 'add_numbers' ? { a: 5, b: 3 } : {};
    await client.callTool({ name: tool.name, arguments: args }).catch((error: unknown) => {
      process.stderr.write(`calling ${tool.name} failed: ${String(error)}\n`);
    });
  }
} finally {
  await client.close();
}
