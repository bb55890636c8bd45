import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import type { LoadedConfig } from './load.js';
import { loadConfigFile } from './load.js';
import type { ConfigWatcher, ReloadOutcome } from './watch.js';
import { watchConfigFile } from './watch.js';

// Real files, real renames, real symlinks, real inotify: the ways a config file changes under a
// running proxy (an editor saving, a kubelet updating a ConfigMap mount).

const DEBOUNCE_MS = 50;

const config = (...names: string[]): string =>
  JSON.stringify({ mcpServers: Object.fromEntries(names.map((n) => [n, { command: 'true', args: [n] }])) });

interface Watched {
  applied: string[][];
  outcomes: ReloadOutcome[];
  logs: string[];
  watcher: ConfigWatcher;
}

let current: Watched | undefined;
afterEach(() => {
  current?.watcher.close();
  current = undefined;
});

async function watchFile(path: string): Promise<Watched> {
  const logs: string[] = [];
  const applied: string[][] = [];
  const outcomes: ReloadOutcome[] = [];
  const watcher = await watchConfigFile({
    path,
    debounceMs: DEBOUNCE_MS,
    log: createLogger('debug', (line) => logs.push(line)),
    load: (file) => loadConfigFile(file),
    apply: async (loaded: LoadedConfig) => {
      applied.push(Object.keys(loaded.backends));
      return {};
    },
    onReload: (outcome) => outcomes.push(outcome),
  });
  current = { applied, outcomes, logs, watcher };
  return current;
}

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'multi-mcp-watch-'));
}

describe('watchConfigFile', () => {
  it('applies a file renamed over the config, as editors save', async () => {
    const dir = tempDir();
    const path = join(dir, 'mcp.json');
    writeFileSync(path, config('a'));
    const w = await watchFile(path);

    writeFileSync(join(dir, '.mcp.json.swp'), config('a', 'b'));
    renameSync(join(dir, '.mcp.json.swp'), path);
    await until('reload', () => w.outcomes.length === 1);
    expect(w.applied).toEqual([['a', 'b']]);
    expect(w.outcomes).toEqual(['ok']);

    // The watch survives the inode change: the next save is seen too.
    writeFileSync(join(dir, '.mcp.json.swp'), config('c'));
    renameSync(join(dir, '.mcp.json.swp'), path);
    await until('second reload', () => w.outcomes.length === 2);
    expect(w.applied.at(-1)).toEqual(['c']);
  });

  it('applies a ConfigMap update, where the kubelet swaps the ..data symlink', async () => {
    const dir = tempDir();
    const version = (stamp: string, text: string): void => {
      mkdirSync(join(dir, stamp));
      writeFileSync(join(dir, stamp, 'mcp.json'), text);
    };
    // The layout the kubelet's atomic writer produces.
    version('..2026_01_01_00_00_00.000000001', config('a'));
    symlinkSync('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
    symlinkSync('..data/mcp.json', join(dir, 'mcp.json'));
    const w = await watchFile(join(dir, 'mcp.json'));

    // Its update: a new timestamped dir, a ..data_tmp symlink renamed over ..data, the old dir removed.
    version('..2026_01_01_00_01_00.000000002', config('a', 'b'));
    symlinkSync('..2026_01_01_00_01_00.000000002', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_01_00_00_00.000000001'), { recursive: true });

    await until('reload', () => w.outcomes.length === 1);
    expect(w.applied).toEqual([['a', 'b']]);

    version('..2026_01_01_00_02_00.000000003', config('b'));
    symlinkSync('..2026_01_01_00_02_00.000000003', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_01_00_01_00.000000002'), { recursive: true });
    await until('second reload', () => w.outcomes.length === 2);
    expect(w.applied.at(-1)).toEqual(['b']);
  });

  it('coalesces a burst of writes into one reload of the last content', async () => {
    const dir = tempDir();
    const path = join(dir, 'mcp.json');
    writeFileSync(path, config('a'));
    const w = await watchFile(path);

    for (let i = 0; i < 20; i++) writeFileSync(path, config('a', `n${i}`));
    await until('reload', () => w.outcomes.length >= 1);
    // Quiet for several debounce periods: nothing more arrives.
    await new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 6));
    expect(w.applied).toEqual([['a', 'n19']]);
  });

  it('rejects an invalid edit with the loader’s field-naming message and applies nothing', async () => {
    const dir = tempDir();
    const path = join(dir, 'mcp.json');
    writeFileSync(path, config('a'));
    const w = await watchFile(path);

    const schemaError = JSON.stringify({ mcpServers: { a: { command: 'true', timeoutMs: 'soon' } } });
    writeFileSync(path, schemaError);
    await until('rejection', () => w.outcomes.length === 1);
    expect(w.outcomes).toEqual(['failed']);
    expect(w.applied).toEqual([]);
    // The same issue text the proxy prints when it cannot start with this file.
    const atStartup = await loadConfigFile(path).catch((error: Error) => error.message);
    const line = w.logs.find((l) => l.includes('config edit rejected')) ?? '';
    expect(line).toContain('mcpServers.a.timeoutMs');
    expect(line).toContain(JSON.stringify(atStartup).slice(1, -1));

    writeFileSync(path, '{"mcpServers": {');
    await until('second rejection', () => w.outcomes.length === 2);
    expect(w.logs.at(-1)).toMatch(/invalid JSON/);

    writeFileSync(path, config('b'));
    await until('recovery', () => w.outcomes.length === 3);
    expect(w.outcomes.at(-1)).toBe('ok');
    expect(w.applied).toEqual([['b']]);
  });

  it('keeps the running state when the file is deleted, and applies it when it returns', async () => {
    const dir = tempDir();
    const path = join(dir, 'mcp.json');
    writeFileSync(path, config('a'));
    const w = await watchFile(path);

    rmSync(path);
    await until('rejection', () => w.outcomes.length === 1);
    expect(w.outcomes).toEqual(['failed']);
    expect(w.logs.at(-1)).toMatch(/cannot read config file.*file not found/);

    writeFileSync(path, config('a', 'b'));
    await until('reload', () => w.outcomes.length === 2);
    expect(w.applied).toEqual([['a', 'b']]);
  });

  it('ignores changes that leave the text as it was', async () => {
    const dir = tempDir();
    const path = join(dir, 'mcp.json');
    writeFileSync(path, config('a'));
    const w = await watchFile(path);
    writeFileSync(path, config('a'));
    writeFileSync(join(dir, 'unrelated.txt'), 'x');
    await new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 6));
    expect(w.outcomes).toEqual([]);

    writeFileSync(path, config('a', 'b'));
    await until('reload', () => w.outcomes.length === 1);
    expect(w.applied).toEqual([['a', 'b']]);
  });
});
