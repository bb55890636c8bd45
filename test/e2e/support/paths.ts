import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliPath = join(repoRoot, 'proxy/dist/cli.js');
export const everythingBin = join(
  repoRoot,
  'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);
export const memoryBin = join(repoRoot, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

/** An mcp.json entry that runs one of the repo's example servers. */
export function fixture(file: string, ...args: string[]): Record<string, unknown> {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', join(repoRoot, 'test/fixtures/servers', file), ...args],
    cwd: repoRoot,
  };
}

/** Writes `content` (an object → JSON, a string as is) into a fresh temp dir; returns the path. */
export function writeTempFile(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-e2e-'));
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}
