import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, stopAll } from './support/processes.js';

// The README's client snippets, read out of README.md (so they cannot drift) and run as written
// against the proxy `npm start` runs: the shipped example servers.

const run = promisify(execFile);
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const README_URL = 'http://127.0.0.1:8080';
const RUN_MS = 45_000; // a client's start-up (npx, tsx) plus the proxy's start-up over stdio

/** The fenced block right after `<!-- snippet: NAME … -->`. */
function snippet(name: string): string {
  const match = new RegExp(`<!-- snippet: ${name}\\b[^>]*-->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(
    readme,
  );
  if (!match?.[1]) throw new Error(`README.md has no snippet "${name}"`);
  return match[1];
}

let proxy: RunningProxy;
beforeAll(async () => {
  proxy = await startHttpProxy(join(repoRoot, 'config/examples/mcp.json'));
});
afterAll(stopAll);

describe('README client snippets', () => {
  it('the TypeScript SDK client example lists and calls through the proxy', async () => {
    const dir = join(repoRoot, '.cache/readme-snippets');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'client.mts');
    writeFileSync(file, snippet('ts-client'));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
      cwd: repoRoot,
      env: { ...process.env, MULTI_MCP_URL: `${proxy.url}/mcp` },
      timeout: RUN_MS,
    });
    expect(stdout).toContain("'calculator__add'");
    expect(stdout).toContain("'weather__get_forecast'");
    expect(stdout).toContain("[ { type: 'text', text: '5' } ]");
  });

  it("the desktop client's stdio entry starts as written and answers tools/list", async () => {
    const config = snippet('desktop-stdio')
      .replaceAll('/path/to/multi-mcp', repoRoot.replace(/\/$/, ''))
      .replaceAll('/path/to/my-servers.json', join(repoRoot, 'config/examples/mcp.json'));
    const entry = (JSON.parse(config) as { mcpServers: Record<string, { command: string; args: string[] }> })
      .mcpServers['multi-mcp'];
    if (!entry) throw new Error('the desktop snippet has no "multi-mcp" entry');
    const client = new Client({ name: 'desktop', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: entry.command, args: entry.args, stderr: 'pipe' }),
    );
    try {
      const { tools } = await client.listTools(undefined, { timeout: RUN_MS });
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['calculator__add', 'unit_converter__convert', 'weather__get_forecast']),
      );
    } finally {
      await client.close();
    }
  });

  describe('the MCP Inspector commands', () => {
    const commands = snippet('inspector')
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .filter((line) => line.startsWith('npx @modelcontextprotocol/inspector '));

    it('are there, over HTTP and over stdio', () => {
      expect(commands.filter((c) => c.includes(`${README_URL}/mcp`)).length).toBeGreaterThanOrEqual(2);
      expect(commands.filter((c) => c.includes('--transport stdio')).length).toBeGreaterThanOrEqual(1);
    });

    for (const [i, command] of commands.entries()) {
      it(`#${i + 1}: ${command}`, async () => {
        // Pointed at this test's proxy instead of :8080; nothing else changes.
        const [npx = '', ...args] = command.replace(README_URL, proxy.url).split(/\s+/);
        const { stdout } = await run(npx, args, { cwd: repoRoot, timeout: RUN_MS });
        const answer = JSON.parse(stdout) as { tools?: { name: string }[]; content?: unknown };
        if (command.includes('tools/list')) {
          expect(answer.tools?.map((t) => t.name)).toEqual(
            expect.arrayContaining(['calculator__add', 'weather__get_forecast']),
          );
        } else {
          expect(answer.content).toEqual([{ type: 'text', text: '5' }]);
        }
      });
    }
  });
});
