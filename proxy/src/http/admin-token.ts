import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { watchFileChanges } from '../file-changes.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';

/**
 * The admin token as of now. A token file that cannot be used (unreadable, empty, malformed)
 * is `unusable`: the admin API then refuses every request, so a broken rotation fails closed
 * and never leaves the API open or keeps a token the operator meant to retire.
 */
export type AdminTokenState = { token: string } | { unusable: string };

/** Where the admin guard reads the token on every request: a fixed one, or a watched file. */
export interface AdminTokenSource {
  current(): AdminTokenState;
  /** What the token comes from, for messages (`--admin-token-file /etc/…`). */
  readonly describe: string;
}

export function fixedToken(token: string): AdminTokenSource {
  const state = { token };
  return { current: () => state, describe: '--admin-token' };
}

const TOKEN = /^[\x21-\x7e]+$/;
const HINT = 'it must hold exactly one token of visible ASCII characters (e.g. `openssl rand -hex 32`)';

/**
 * The token in a token file's text, or why there is none. One trailing line break (what `echo`
 * and most editors add) is fine; anything else around or inside the token is refused rather than
 * trimmed, since a stray space or a second line usually means the wrong file was mounted.
 * Messages never quote the content: it is a secret.
 */
export function parseTokenFile(text: string): { token: string } | { problem: string } {
  const body = text.replace(/\r?\n$/, '');
  if (body.trim() === '') return { problem: `is empty; ${HINT}` };
  const lines = body.split(/\r?\n/);
  if (lines.length > 1) return { problem: `has ${lines.length} lines; ${HINT}` };
  if (TOKEN.test(body)) return { token: body };
  const at = [...body].findIndex((c) => !TOKEN.test(c));
  const what = /\s/.test([...body][at] ?? '') ? 'whitespace' : 'a character that is not visible ASCII';
  return { problem: `contains ${what} at character ${at + 1}; ${HINT}` };
}

async function readToken(path: string): Promise<{ token: string } | { problem: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problem:
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'EACCES'
            ? 'is not readable by this user'
            : `cannot be read: ${errorMessage(error)}`,
    };
  }
  return parseTokenFile(text);
}

export interface WatchedToken extends AdminTokenSource {
  /** Re-reads the file now (the watcher calls it; tests and SIGHUP may too). */
  reload(): Promise<void>;
  close(): void;
}

export interface TokenFileOptions {
  log: Logger;
  /**
   * Re-read this often even without a file event: inotify misses changes on some network and
   * overlay filesystems, and a watch on a deleted directory stops for good.
   */
  pollMs?: number;
}

/** Events of one write (truncate, write, rename) arrive together: read once they stop. */
const SETTLE_MS = 25;

/**
 * Reads the admin token from a file (a mounted Kubernetes Secret) at start, and again whenever
 * it changes, including when the kubelet swaps the Secret volume's `..data` symlink or an editor
 * renames a new file over the old one (see `watchFileChanges`). A file that is
 * not usable at start is an error; later, it makes the admin API refuse every request until
 * the file is fixed.
 */
export async function watchTokenFile(file: string, options: TokenFileOptions): Promise<WatchedToken> {
  const path = resolve(file);
  const describe = `--admin-token-file ${path}`;
  const log = options.log.with({ component: 'admin-token', file: path });
  const first = await readToken(path);
  if ('problem' in first) {
    throw new ConfigError(`admin token file ${path} ${first.problem.split(';')[0]}`, [
      `--admin-token-file: ${path} ${first.problem}`,
    ]);
  }
  let state: AdminTokenState = { token: first.token };
  let closed = false;

  const reloadOnce = async (): Promise<void> => {
    const next = await readToken(path);
    if (closed) return;
    if ('problem' in next) {
      const reason = `admin token file ${path} ${next.problem}`;
      if (!('unusable' in state) || state.unusable !== reason) {
        log.error('admin token file unusable: the admin API refuses every request until it is fixed', {
          [Field.error]: next.problem,
        });
      }
      state = { unusable: reason };
      return;
    }
    if ('token' in state && state.token === next.token) return;
    log.info('unusable' in state ? 'admin token file fixed: admin API open again' : 'admin token rotated');
    state = { token: next.token };
  };

  const changes = await watchFileChanges({
    path,
    onChange: reloadOnce,
    debounceMs: SETTLE_MS,
    pollMs: options.pollMs ?? 10_000,
    log,
  });

  return {
    describe,
    current: () => state,
    reload: changes.runNow,
    close() {
      closed = true;
      changes.close();
    },
  };
}
