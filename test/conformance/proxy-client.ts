import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { z } from 'zod';

/**
 * The conformance suite's client side with the proxy as the client under test: the suite starts
 * its scenario server and runs this with the server's URL as the last argument. This starts the
 * proxy (stdio front door, built CLI) with that URL as its only backend (empty prefix) and, as a
 * user would, lists the tools through it and calls them (with the arguments the scenario names
 * in MCP_CONFORMANCE_CONTEXT, when it names any), gets its prompts and reads its resources, and
 * accepts what it is asked to confirm (elicitation); what the scenario server checks is what the
 * proxy sent it. Exit code 0 unless the proxy could not be driven.
 */

const Context = z.object({
  toolCalls: z.array(z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()) })).optional(),
});
const context = Context.parse(JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}'));

const url = process.argv.at(-1);
if (!url?.startsWith('http')) {
  process.stderr.write('usage: proxy-client.ts <server url>\n');
  process.exit(2);
}
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-conformance-client-'));
const config = join(dir, 'mcp.json');
writeFileSync(config, JSON.stringify({ mcpServers: { scenario: { url, prefix: '' } } }));

const client = new Client(
  { name: 'conformance-driver', version: '1.0.0' },
  { capabilities: { elicitation: {} } },
);
client.setRequestHandler('elicitation/create', async () => ({
  action: 'accept',
  content: { confirmed: true },
}));
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
const report =
  (what: string) =>
  (error: unknown): void =>
    void process.stderr.write(`${what} failed: ${String(error)}\n`);
try {
  const { tools } = await client.listTools();
  const calls =
    context.toolCalls ??
    tools.map((tool) => ({ name: tool.name, arguments: tool.name === 'add_numbers' ? { a: 5, b: 3 } : {} }));
  for (const call of calls) await client.callTool(call).catch(report(`calling ${call.name}`));
  const { prompts } = await client.listPrompts().catch(() => ({ prompts: [] }));
  for (const prompt of prompts) await client.getPrompt({ name: prompt.name }).catch(report(prompt.name));
  const { resources } = await client.listResources().catch(() => ({ resources: [] }));
  for (const resource of resources)
    await client.readResource({ uri: resource.uri }).catch(report(resource.uri));
} finally {
  await client.close();
}
