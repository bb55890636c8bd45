/**
 * A small structured logger writing one line per event to stderr: stdout belongs to the
 * protocol when the proxy runs in stdio mode. Field names are constants so every line about
 * a backend carries `backend=`, every line about a client session `session=`.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const Field = {
  backend: 'backend',
  session: 'session',
  owner: 'owner',
  method: 'method',
  error: 'error',
  transport: 'transport',
} as const;

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields`. */
  with(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function createLogger(
  level: LogLevel = 'info',
  sink: LogSink = (line) => process.stderr.write(line + '\n'),
  bound: LogFields = {},
): Logger {
  const write = (at: LogLevel, message: string, fields?: LogFields): void => {
    if (rank[at] < rank[level]) return;
    let line = `${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} ${message}`;
    for (const [key, value] of Object.entries({ ...bound, ...fields })) {
      if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
    }
    sink(line);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    with: (fields) => createLogger(level, sink, { ...bound, ...fields }),
  };
}

export const silentLogger: Logger = createLogger('error', () => {});

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
