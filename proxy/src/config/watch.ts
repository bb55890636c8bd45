import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { watchFileChanges } from '../file-changes.js';
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

/**
 * Watches a config file and applies every edit that changes its text, saved in place, renamed over
 * the old file by an editor, or swapped in by the kubelet for a ConfigMap mount (see
 * `watchFileChanges`).
 *
 * An edit that cannot be used (unreadable, deleted, bad JSON or YAML, schema error) is logged with
 * the loader's message and changes nothing: the running backends stay as they are.
 */
export async function watchConfigFile(options: ConfigWatchOptions): Promise<ConfigWatcher> {
  const path = resolve(options.path);
  const log = options.log.with({ config: path });
  let last = await fingerprint(path);

  const check = async (): Promise<void> => {
    const current = await fingerprint(path);
    if (current === last) return;
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

  const changes = await watchFileChanges({
    path,
    onChange: check,
    debounceMs: options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
    log,
  });
  return { close: changes.close };
}

/** What the file says now, or why it cannot be read: an event that changed neither is ignored. */
async function fingerprint(path: string): Promise<string> {
  try {
    return `text:${await readFile(path, 'utf8')}`;
  } catch (error) {
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`;
  }
}
