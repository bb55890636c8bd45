import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from './log.js';
import { errorMessage } from './log.js';

export interface FileChangesOptions {
  path: string;
  /** Reads the file and acts on it. Never runs twice at once; a change seen meanwhile runs it once more. */
  onChange(): Promise<void>;
  /** Quiet time after the last event before `onChange` runs: one write is several events. */
  debounceMs: number;
  /** Also run this often without any event: some network and overlay filesystems send none. */
  pollMs?: number;
  log: Logger;
}

export interface FileChanges {
  /** Runs `onChange` now (after any run in progress); resolves when it is done. */
  runNow(): Promise<void>;
  close(): void;
}

const REARM_MS = 1_000;

/**
 * Calls `onChange` whenever a file may have changed. Directories are watched, not the file: an
 * editor that writes a new file and renames it over the old one, and a Kubernetes volume (the
 * kubelet writes a `..<timestamp>` directory and swaps the `..data` symlink that
 * `name -> ..data/name` goes through, for ConfigMaps and Secrets alike) both replace the file's
 * inode, which ends a watch on the file itself. Watched are the directory of the path and the
 * directory the path resolves to, re-resolved after every run. Any event there may be the swap
 * (it names neither the file nor its target), so `onChange` must be cheap to run for nothing.
 */
export async function watchFileChanges(options: FileChangesOptions): Promise<FileChanges> {
  const path = resolve(options.path);
  const { log } = options;
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let rearmTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const runNow = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await arm();
        if (closed) return;
        await options
          .onChange()
          .catch((error: unknown) =>
            log.error('reacting to a file change failed', { error: errorMessage(error) }),
          );
      } while (again && !closed);
    })().finally(() => (running = undefined));
    return running;
  };

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void runNow(), options.debounceMs);
    timer.unref();
  };

  /** Watches the directories the path goes through now; drops those it no longer does. */
  const arm = async (): Promise<void> => {
    const wanted = new Set([dirname(path)]);
    const target = await realpath(path).catch(() => undefined);
    if (target !== undefined) wanted.add(dirname(target));
    for (const [dir, watcher] of watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    if (closed) return;
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, schedule);
        watcher.on('error', (error) => {
          // The directory went away (a ConfigMap's old `..<timestamp>` dir, a removed mount).
          log.debug('file watch ended', { dir, error: errorMessage(error) });
          watcher.close();
          watchers.delete(dir);
          rearmLater();
        });
        watchers.set(dir, watcher);
      } catch (error) {
        if (dir === dirname(path)) {
          log.warn('cannot watch the directory; retrying', { dir, error: errorMessage(error) });
          rearmLater();
        }
      }
    }
  };

  const rearmLater = (): void => {
    if (closed || rearmTimer) return;
    rearmTimer = setTimeout(() => {
      rearmTimer = undefined;
      // A change may have happened while nothing watched: look at the file too.
      schedule();
    }, REARM_MS);
    rearmTimer.unref();
  };

  await arm();
  const poll = options.pollMs === undefined ? undefined : setInterval(() => void runNow(), options.pollMs);
  poll?.unref();
  return {
    runNow,
    close: () => {
      closed = true;
      clearTimeout(timer);
      clearTimeout(rearmTimer);
      clearInterval(poll);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
