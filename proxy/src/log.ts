/**
 * A small structured logger writing one line per event to stderr: stdout belongs to the
 * protocol when the proxy runs in stdio mode. Field names are constants so every line about
 * a backend carries `backend=`, every line about a client session `session=`, every line
 * about a relayed call `request=` (the client's JSON-RPC id, unique within its session).
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `text` for terminals (`time LEVEL msg key=value…`), `json` for log collectors (one object a line). */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const Field = {
  backend: 'backend',
  session: 'session',
  request: 'request',
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

export interface LoggerOptions {
  format?: LogFormat;
  /** Fields every line carries. */
  bound?: LogFields;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys of the JSON envelope; a field with one of these names is written as `field.<name>`. */
const RESERVED = new Set(['time', 'level', 'msg']);

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

function textLine(at: LogLevel, message: string, fields: LogFields): string {
  let line = `${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} ${message}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

function jsonLine(at: LogLevel, message: string, fields: LogFields): string {
  const record: Record<string, string | number | boolean> = {
    time: new Date().toISOString(),
    level: at,
    msg: message,
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) record[RESERVED.has(key) ? `field.${key}` : key] = value;
  }
  // JSON.stringify escapes newlines, so a backend's multi-line stderr stays one record.
  return JSON.stringify(record);
}

export function createLogger(
  level: LogLevel = 'info',
  sink: LogSink = (line) => process.stderr.write(line + '\n'),
  options: LoggerOptions = {},
): Logger {
  const bound = options.bound ?? {};
  const format = options.format === 'json' ? jsonLine : textLine;
  const write = (at: LogLevel, message: string, fields?: LogFields): void => {
    if (rank[at] < rank[level]) return;
    sink(format(at, message, fields ? { ...bound, ...fields } : bound));
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    with: (fields) => createLogger(level, sink, { ...options, bound: { ...bound, ...fields } }),
  };
}

export const silentLogger: Logger = createLogger('error', () => {});

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
