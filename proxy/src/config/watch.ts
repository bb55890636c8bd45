import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { LogFields, Logger } from '../log.js';
import { errorMessage } from '../log.js';
import type { LoadedConfig } from './load.js';

export type ReloadOutcome = 'ok' | 'failed';

export interface ConfigWatchOptions {
  path: string;
  /** Reads and validates the file; throws (a ConfigError) when it cannot be used. */
  load(path: string): Promise<LoadedConfig>;
  /** Applies a valid config as the file owner's whole snapshot; returns fields for the log line. */
  apply(config: LoadedConfig): Promise<LogFields>;
  log: Logger;
  onReload?(outcome: ReloadOutcome): void;
  /** Quiet time after the last change before the file is read: a burst of writes is one reload. */
  debounceMs?: number;
}

export interface ConfigWatcher {
  close(): void;
}

const DEFAULT_DEBOUNCE_MS = 200;
const REARM_MS = 1_000;

/**
 * Watches a config file and applies every edit that changes its text. Directories are watched, not
 * the file: an editor that writes a new file and renames it over the old one, and a Kubernetes
 * ConfigMap mount (the kubelet writes a `..<timestamp>` directory and swaps the `..data` symlink that
 * `mcp.json -> ..data/mcp.json` goes through) both replace the file's inode, which ends a watch on
 * the file itself. Watched are the directory of the path and the directory the path resolves to,
 * re-resolved after every change.
 *
 * An edit that cannot be used (unreadable, deleted, bad JSON or YAML, schema error) is logged with
 * the loader's message and changes nothing: the running backends stay as they are.
 */
export async function watchConfigFile(options: ConfigWatchOptions): Promise<ConfigWatcher> {
  const path = resolve(options.path);
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const log = options.log.with({ config: path });
  const watchers = new Map<string, FSWatcher>();
  let last = await fingerprint(path);
  let timer: NodeJS.Timeout | undefined;
  let rearmTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
    timer.unref();
  };

  const run = (): void => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = check()
      .catch((error: unknown) => log.error('config reload failed', { error: errorMessage(error) }))
      .finally(() => {
        running = undefined;
        // Changes seen while this reload ran get one more look once it is done.
        if (again) {
          again = false;
          schedule();
        }
      });
  };

  const check = async (): Promise<void> => {
    const current = await fingerprint(path);
    await arm();
    if (current === last || closed) return;
    last = current;
    let config: LoadedConfig;
    try {
      config = await options.load(path);
    } catch (error) {
      log.error('config edit rejected; the running backends are kept', { error: errorMessage(error) });
      options.onReload?.('failed');
      return;
    }
    try {
      const fields = await options.apply(config);
      log.info('config reloaded', fields);
      options.onReload?.('ok');
    } catch (error) {
      log.error('config edit could not be applied; the running backends are kept', {
        error: errorMessage(error),
      });
      options.onReload?.('failed');
    }
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
          log.debug('config watch ended', { dir, error: errorMessage(error) });
          watcher.close();
          watchers.delete(dir);
          rearmLater();
        });
        watchers.set(dir, watcher);
      } catch (error) {
        if (dir === dirname(path)) {
          log.warn('cannot watch the config directory; retrying', { dir, error: errorMessage(error) });
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
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      clearTimeout(rearmTimer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/** What the file says now, or why it cannot be read: an event that changed neither is ignored. */
async function fingerprint(path: string): Promise<string> {
  try {
    return `text:${await readFile(path, 'utf8')}`;
  } catch (error) {
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`;
  }
}
