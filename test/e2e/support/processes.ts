import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, repoRoot } from './paths.js';

/** Every process a test file starts, so `stopAll()` in afterAll can end them whatever happened. */
const started = new Set<ChildProcess>();

export interface Started {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function start(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Started {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, stop: () => stop(child) };
}

export async function stop(child: ChildProcess): Promise<void> {
  started.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map(stop));
}

/** Resolves when `pattern` appears in the process's output; rejects on exit or after `ms`. */
export function waitForOutput(proc: Started, pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = proc.output().match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
      return Boolean(match);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`process exited (${code}) before ${pattern}:\n${proc.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${ms} ms:\n${proc.output()}`));
    }, ms);
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.child.stdout?.off('data', check);
      proc.child.stderr?.off('data', check);
      proc.child.off('exit', onExit);
    };
    if (check()) return;
    proc.child.stdout?.on('data', check);
    proc.child.stderr?.on('data', check);
    proc.child.once('exit', onExit);
  });
}

/** Resolves with the exit code, or rejects after `ms`. */
export function waitForExit(proc: Started, ms = 20_000): Promise<number | null> {
  if (proc.child.exitCode !== null) return Promise.resolve(proc.child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${proc.output()}`)), ms);
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export { freePort } from '../../support/net.js';
export { descendants, isRunning } from '../../support/procfs.js';

/** The 2026-07-28 fixture (test/fixtures/servers/modern.ts) over HTTP with `options`; its /mcp URL. */
export async function startModernFixture(...options: string[]): Promise<string> {
  const fixture = start(process.execPath, [
    '--import',
    'tsx',
    join(repoRoot, 'test/fixtures/servers/modern.ts'),
    '--http',
    '0',
    ...options,
  ]);
  const [, url = ''] = await waitForOutput(fixture, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
  return url;
}

export interface RunningProxy extends Started {
  url: string;
  /** Where the admin API answers: the --admin-port listener, or `url`. */
  adminUrl: string;
}

/** Starts the proxy CLI in HTTP mode on a free loopback port and waits until /readyz says ready. */
export async function startHttpProxy(
  configPath: string | undefined,
  extraArgs: string[] = [],
  cwd?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningProxy> {
  const config = configPath === undefined ? [] : ['--config', configPath];
  const args = [
    cliPath,
    '--transport',
    'http',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    ...config,
    ...extraArgs,
  ];
  const proc = start(process.execPath, args, env, cwd);
  const [, url, adminUrl] = await waitForOutput(
    proc,
    /listening .*mcp=(http:\/\/127\.0\.0\.1:\d+)\/mcp .*admin=(http:\/\/127\.0\.0\.1:\d+)\/mcp_servers/,
  );
  if (!url || !adminUrl) throw new Error('no url');
  await waitUntil(async () => (await fetch(`${url}/readyz`)).ok, 30_000, `${url}/readyz`);
  return { ...proc, url, adminUrl };
}

/** The pids whose parent is `pid` (the backends a proxy spawned), from the process table. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: fields start after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return children.sort((a, b) => a - b);
}

export async function waitUntil(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
