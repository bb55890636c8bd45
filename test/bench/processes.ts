// Every process the bench starts goes through here, so that all of them are stopped on success, on error
// and on Ctrl-C. Each is the leader of its own process group: stopping the group also stops what it
// spawned (supergateway's shell and server, the worker's stdio server, the proxy's backends).
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Started {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Set once the process has exited, with its code or signal. */
  exit?: string;
}

const STOP_GRACE_MS = 3_000;

export function logTail(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n') : '(empty log)';
  } catch {
    return '(no log)';
  }
}

/** Signals the whole group, even after its leader exited: its children may still be running. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is empty already.
  }
}

export class Processes {
  // Kept after the leaders exit, until the bench ends: their groups may still hold children.
  private readonly started = new Set<ChildProcess>();

  constructor(readonly logDir: string) {}

  /** Starts a long-running server with stdout and stderr in a log file that nobody must drain. */
  start(name: string, command: string, args: string[], env: Record<string, string> = {}): Started {
    const logFile = join(this.logDir, `${name}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', log, log],
      detached: true,
    });
    const started: Started = { name, child, logFile };
    this.track(child);
    child.on('exit', (code, signal) => (started.exit = signal ?? `code ${code}`));
    child.on('error', (error) => (started.exit = `spawn error: ${error.message}`));
    return started;
  }

  /** Runs a command to completion, bounded by `timeoutMs`, and returns its stdout. */
  run(name: string, command: string, args: string[], timeoutMs: number, cwd?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.track(child);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      const timer = setTimeout(() => {
        signalGroup(child, 'SIGKILL');
        reject(new Error(`${name} did not finish within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${name} could not start: ${error.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        // The group may still hold the worker's stdio server if the worker died abruptly.
        signalGroup(child, 'SIGKILL');
        if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
        const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${name} failed (${signal ?? `code ${code}`}):\n${stderr}`));
      });
    });
  }

  async stop(started: Started): Promise<void> {
    const { child } = started;
    if (child.exitCode !== null || child.signalCode !== null) return signalGroup(child, 'SIGKILL');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    // Grandchildren that ignored SIGTERM must not outlive the run.
    signalGroup(child, 'SIGKILL');
  }

  /** On Ctrl-C: a short grace so servers can stop the children they put in other groups, then SIGKILL. */
  async terminateAll(graceMs = 500): Promise<void> {
    for (const child of this.started) signalGroup(child, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, graceMs));
    this.killAll();
  }

  /** Synchronous last resort for process exit: no time for graceful shutdown there. */
  killAll(): void {
    for (const child of this.started) signalGroup(child, 'SIGKILL');
  }

  private track(child: ChildProcess): void {
    this.started.add(child);
  }
}
