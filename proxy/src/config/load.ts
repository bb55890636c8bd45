import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { isStdioBackend, parseMcpJson } from './contract.js';
import type { BackendSpec, VirtualServerSpec } from './contract.js';
import { ConfigError } from './errors.js';
import { expandEnv } from './expand.js';

export interface LoadedConfig {
  /** Absolute path of the file the backends came from. */
  path: string;
  /** Validated, normalized backends by name, disabled ones included (the registry decides). */
  backends: Record<string, BackendSpec>;
  /** Named selections of the catalog (`virtualServers`), served at /mcp/<name> and /sse/<name>. */
  virtualServers: Record<string, VirtualServerSpec>;
}

/**
 * Reads an mcp.json (or .yaml/.yml) file, expands `${VAR}` references from `env`, validates it, and
 * resolves a relative stdio `cwd` against the directory of the file, so a config shipped next to its
 * servers works whatever directory the proxy is started from. Every failure is a ConfigError naming the
 * file.
 */
export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const absolute = resolve(path);
  const text = await readConfigText(absolute);
  const document = parseDocument(text, absolute);
  let expanded;
  try {
    expanded = expandEnv(document, env, '');
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${error.summary} in ${absolute}`, error.issues);
    throw error;
  }
  const config = parseMcpJson(expanded, absolute);
  const base = dirname(absolute);
  const backends: Record<string, BackendSpec> = {};
  for (const [name, spec] of Object.entries(config.mcpServers)) {
    backends[name] =
      isStdioBackend(spec) && spec.cwd !== undefined && !isAbsolute(spec.cwd)
        ? { ...spec, cwd: resolve(base, spec.cwd) }
        : spec;
  }
  return { path: absolute, backends, virtualServers: config.virtualServers ?? {} };
}

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, expected a file'
          : (error as Error).message;
    throw new ConfigError(`cannot read config file ${path}`, [`${path}: ${why}`]);
  }
}

function parseDocument(raw: string, path: string): unknown {
  // Editors on Windows may save a byte-order mark; JSON.parse rejects it.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  if (text.trim() === '') {
    throw new ConfigError(`cannot parse ${path}`, [`${path}: file is empty (expected {"mcpServers": {…}})`]);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') {
    try {
      return parseYaml(text);
    } catch (error) {
      if (!(error instanceof YAMLParseError)) throw error;
      const [line, col] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : [0, 0];
      const firstLine = error.message.split('\n')[0] ?? error.message;
      throw new ConfigError(`cannot parse ${path}`, [`${path}:${line}:${col}: invalid YAML: ${firstLine}`]);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    // V8 reports a character offset; people need a line and column. Without an offset the input ended early.
    const offset = /at position (\d+)/.exec(message)?.[1];
    const { line, col } = lineAndColumn(text, offset === undefined ? text.length : Number(offset));
    const why = message.replace(/ in JSON at position \d+.*$/, '');
    throw new ConfigError(`cannot parse ${path}`, [`${path}:${line}:${col}: invalid JSON: ${why}`]);
  }
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** `./mcp.json` in `cwd` when there is one, else the example config shipped with the package. */
export function resolveDefaultConfigPath(cwd: string, shippedExample: string): string {
  const local = join(cwd, 'mcp.json');
  return existsSync(local) ? local : shippedExample;
}
