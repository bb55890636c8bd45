/**
 * Builds and runs the real test control plane (etcd + kube-apiserver from
 * test/controlplane/, see its build.sh). Used by the vitest global setup of the
 * `k8s` project and by `npm run dev:cluster`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  copyFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const buildScript = join(repoRoot, 'test/controlplane/build.sh');

/** Where build.sh put the binaries (its KEY=value stdout lines). */
export interface Binaries {
  controlplane: string;
  kubectl: string;
  helm: string;
  binDir: string;
  k8sVersion: string;
  helmVersion: string;
}

/** A running control plane. */
export interface ControlPlane {
  apiserver: string;
  kubeconfig: string;
  saKubeconfig: string;
  saUser: string;
  dir: string;
  logFile: string;
  pid: number;
  /** Resolves with the exit code once the process is gone; stop() calls it. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, SIGKILL after `timeoutMs`; removes the data dir unless `keep`. */
  stop(options?: { timeoutMs?: number; keep?: boolean }): Promise<number | null>;
  /** Closes the process's stdin, which makes it shut down by itself (as when this process dies). */
  closeStdin(): void;
  /** Last `lines` lines of the control plane's log. */
  logTail(lines?: number): string;
  /** Copies the log to test-results/k8s/ and returns the copy's path. */
  saveLog(reason: string): string;
}

function parseKeyValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) values.set(m[1], m[2]);
  }
  return values;
}

function required(values: Map<string, string>, key: string, what: string): string {
  const v = values.get(key);
  if (v === undefined || v === '') throw new Error(`${what} did not print ${key}=…`);
  return v;
}

/**
 * Runs test/controlplane/build.sh (a no-op when the cached binaries match the
 * sources). Its progress goes to this process's stderr. Rejects with the
 * script's message, e.g. when Go is not installed.
 */
export async function buildControlPlane(
  options: { timeoutMs?: number; quiet?: boolean } = {},
): Promise<Binaries> {
  const timeoutMs = options.timeoutMs ?? 60 * 60_000;
  const child = spawn('bash', [buildScript], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (!options.quiet) process.stderr.write(chunk);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`test/controlplane/build.sh did not finish within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run test/controlplane/build.sh: ${err.message}`));
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) {
    const lastLines = stderr.trim().split('\n').slice(-15).join('\n');
    throw new Error(`test/controlplane/build.sh failed (exit ${String(code)}):\n${lastLines}`);
  }
  const values = parseKeyValues(stdout);
  const what = 'test/controlplane/build.sh';
  return {
    controlplane: required(values, 'CONTROLPLANE', what),
    kubectl: required(values, 'KUBECTL', what),
    helm: required(values, 'HELM', what),
    binDir: required(values, 'BIN_DIR', what),
    k8sVersion: required(values, 'K8S_VERSION', what),
    helmVersion: required(values, 'HELM_VERSION', what),
  };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts the control plane binary on 127.0.0.1 (free ports) with a fresh data
 * dir, and resolves once it printed READY=1 (after /readyz answered). The
 * process exits by itself if this process dies (its stdin closes).
 */
export async function startControlPlane(
  binary: string,
  options: { readyTimeoutMs?: number; extraApiserverArgs?: string[] } = {},
): Promise<ControlPlane> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-k8s-'));
  const logFile = join(dir, 'controlplane.log');
  const logFd = openSync(logFile, 'a');
  // --remove-dir: even if this process is killed, the control plane deletes its data (etcd's WAL
  // is ~60 MB) when it exits; only the small log file can be left behind in the temp dir.
  const args = [
    '--dir',
    join(dir, 'data'),
    '--remove-dir',
    '--exit-on-stdin-close',
    `--ready-timeout=${readyTimeoutMs}ms`,
  ];
  if (options.extraApiserverArgs?.length) args.push('--', ...options.extraApiserverArgs);
  let child: ChildProcess;
  try {
    // Own process group: Ctrl-C in a terminal reaches only this process, which then stops the
    // control plane with a single SIGTERM. If this process dies, the child's stdin closes and it exits.
    child = spawn(binary, args, { stdio: ['pipe', 'pipe', logFd], detached: true });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.on('error', () => resolve(null));
  });
  const saveLog = (reason: string): string => {
    const outDir = join(repoRoot, 'test-results', 'k8s');
    mkdirSync(outDir, { recursive: true });
    const dest = join(outDir, `controlplane-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
    if (existsSync(logFile)) copyFileSync(logFile, dest);
    process.stderr.write(
      `\n[k8s harness] ${reason}\n[k8s harness] control plane log saved to ${dest}; last lines:\n${tail(logFile, 30)}\n`,
    );
    return dest;
  };

  let stdout = '';
  const ready = new Promise<Map<string, string>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`control plane not ready within ${readyTimeoutMs / 1000}s`)),
      readyTimeoutMs + 5_000,
    );
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/^READY=1$/m.test(stdout)) {
        clearTimeout(timer);
        resolve(parseKeyValues(stdout));
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${binary}: ${err.message}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`control plane exited with code ${String(code)} before it was ready`));
    });
  });

  const stop = async (stopOptions: { timeoutMs?: number; keep?: boolean } = {}): Promise<number | null> => {
    const timeoutMs = stopOptions.timeoutMs ?? 30_000;
    if (child.exitCode === null && child.signalCode === null) {
      // One signal only: a second SIGTERM/SIGINT (or stdin closing) makes kube-apiserver exit at once.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    const code = await exited;
    if (!stopOptions.keep) rmSync(dir, { recursive: true, force: true });
    return code;
  };

  let values: Map<string, string>;
  try {
    values = await ready;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const saved = saveLog(`control plane failed to start: ${message}`);
    const lastLines = tail(logFile, 30);
    await stop();
    throw new Error(`${message} (log: ${saved})\n--- control plane log (tail) ---\n${lastLines}`);
  }
  const what = 'the control plane';
  return {
    apiserver: required(values, 'APISERVER', what),
    kubeconfig: required(values, 'KUBECONFIG', what),
    saKubeconfig: required(values, 'SA_KUBECONFIG', what),
    saUser: required(values, 'SA_USER', what),
    dir,
    logFile,
    pid: child.pid ?? -1,
    exited,
    stop,
    closeStdin: () => child.stdin?.end(),
    logTail: (lines = 30) => tail(logFile, lines),
    saveLog,
  };
}
