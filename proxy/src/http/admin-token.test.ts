import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/errors.js';
import { createLogger } from '../log.js';
import type { AdminTokenState, WatchedToken } from './admin-token.js';
import { parseTokenFile, watchTokenFile } from './admin-token.js';

// Real files, real symlinks, real inotify: the token file is a mounted Secret in production.

const SECRET = 'k8s-secret-value-0123456789abcdef';

describe('parseTokenFile', () => {
  it('takes one token, with or without a trailing line break', () => {
    expect(parseTokenFile('abc123')).toEqual({ token: 'abc123' });
    expect(parseTokenFile('abc123\n')).toEqual({ token: 'abc123' });
    expect(parseTokenFile('abc123\r\n')).toEqual({ token: 'abc123' });
  });

  it.each([
    ['an empty file', '', /is empty/],
    ['only a line break', '\n', /is empty/],
    ['only spaces', '   \n', /is empty/],
    ['several lines', 'sekrit1\nsekrit2\n', /has 2 lines/],
    ['a blank line after the token', 'sekrit1\n\n', /has 2 lines/],
    ['whitespace inside', 'sekrit def', /whitespace at character 7/],
    ['a leading space', ' abc', /whitespace at character 1/],
    ['a tab at the end', 'abc\t', /whitespace at character 4/],
    ['non-ASCII', 'abcé', /not visible ASCII at character 4/],
  ])('refuses %s, saying what a token file must hold, never its content', (_what, text, problem) => {
    const parsed = parseTokenFile(text);
    expect(parsed).toHaveProperty('problem');
    const message = (parsed as { problem: string }).problem;
    expect(message).toMatch(problem);
    expect(message).toContain('exactly one token');
    if (text.trim() !== '') expect(message).not.toContain(text.trim().split(/\s/)[0]);
  });
});

describe('watchTokenFile', () => {
  let watched: WatchedToken | undefined;
  const dirs: string[] = [];
  const logLines: string[] = [];
  const log = createLogger('debug', (line) => logLines.push(line));

  const freshDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-token-'));
    dirs.push(dir);
    return dir;
  };

  afterEach(() => {
    watched?.close();
    watched = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    logLines.length = 0;
  });

  /** Bounded wait for the watcher to see a change (inotify; the poll fallback is set far beyond this). */
  async function until(what: string, test: (state: AdminTokenState) => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!test(watched!.current())) {
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(watched!.current())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const hasToken = (token: string) => (state: AdminTokenState) => 'token' in state && state.token === token;
  const unusable = (state: AdminTokenState) => 'unusable' in state;

  it('refuses to start from a missing or malformed file, naming the file and the problem', async () => {
    const dir = freshDir();
    const missing = join(dir, 'nope');
    await expect(watchTokenFile(missing, { log })).rejects.toThrow(ConfigError);
    await expect(watchTokenFile(missing, { log })).rejects.toThrow(/nope does not exist/);

    const malformed = join(dir, 'token');
    writeFileSync(malformed, `${SECRET}\nsecond-line\n`);
    const error = (await watchTokenFile(malformed, { log }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.summary).toContain(malformed);
    expect(error.issues.join('\n')).toMatch(/--admin-token-file: .*has 2 lines/);
    expect(error.message).not.toContain(SECRET);
  });

  it('follows a plain file rewritten in place, and renamed over', async () => {
    const file = join(freshDir(), 'token');
    writeFileSync(file, 'first-token\n');
    watched = await watchTokenFile(file, { log, pollMs: 600_000 });
    expect(watched.current()).toEqual({ token: 'first-token' });

    writeFileSync(file, 'second-token\n');
    await until('rewrite', hasToken('second-token'));

    // What editors do: write a new file next to it and rename it over the old one.
    writeFileSync(`${file}.swp`, 'third-token');
    renameSync(`${file}.swp`, file);
    await until('rename over', hasToken('third-token'));
    // …and the file that replaced the first one is followed too.
    writeFileSync(file, 'fourth-token');
    await until('rewrite after rename', hasToken('fourth-token'));
    expect(logLines.join('\n')).toContain('admin token rotated');
    expect(logLines.join('\n')).not.toContain('third-token');
  });

  it('follows a kubelet-style Secret update (the `..data` symlink swapped to a new directory)', async () => {
    const dir = freshDir();
    // The layout of a Secret volume: token -> ..data/token, ..data -> ..<timestamp>/.
    mkdirSync(join(dir, '..2026_01_01_00_00_00.1'));
    writeFileSync(join(dir, '..2026_01_01_00_00_00.1', 'token'), 'before-rotation');
    symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
    symlinkSync('..data/token', join(dir, 'token'));
    watched = await watchTokenFile(join(dir, 'token'), { log, pollMs: 600_000 });
    expect(watched.current()).toEqual({ token: 'before-rotation' });

    // The kubelet's atomic writer: new directory, new symlink, rename it over ..data, drop the old.
    // Twice: a watch on the first file's inode would see the first swap (its file is deleted) and
    // then nothing ever again.
    const rotate = async (from: string, to: string, token: string): Promise<void> => {
      mkdirSync(join(dir, to));
      writeFileSync(join(dir, to, 'token'), token);
      symlinkSync(to, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, from), { recursive: true });
      await until(`..data swap to ${to}`, hasToken(token));
    };
    await rotate('..2026_01_01_00_00_00.1', '..2026_01_01_00_05_00.2', 'after-rotation');
    await rotate('..2026_01_01_00_05_00.2', '..2026_01_01_00_10_00.3', 'after-second-rotation');
  });

  it('fails closed on a broken update and recovers when the file is fixed', async () => {
    const file = join(freshDir(), 'token');
    writeFileSync(file, 'good-token');
    watched = await watchTokenFile(file, { log, pollMs: 600_000 });

    writeFileSync(file, 'two\nlines');
    await until('malformed update', unusable);
    expect(watched.current()).toEqual({ unusable: expect.stringMatching(/token has 2 lines/) as string });
    expect(logLines.join('\n')).toMatch(/ERROR admin token file unusable.*has 2 lines/);

    writeFileSync(file, 'good-token-2');
    await until('fixed', hasToken('good-token-2'));
    expect(logLines.join('\n')).toContain('admin token file fixed');

    unlinkSync(file);
    await until('deleted', unusable);
    expect(watched.current()).toEqual({ unusable: expect.stringMatching(/does not exist/) as string });
  });
});
