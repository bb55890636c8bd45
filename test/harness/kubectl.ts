import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** KUBECONFIG for this call. */
  kubeconfig?: string;
  /** Written to the process's stdin (e.g. a manifest for `-f -`). */
  input?: string;
  /** Kill the process after this long (default 60 s). */
  timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of rejecting. */
  allowFailure?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Runs a binary with bounded time and captured output. */
export function run(binary: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.kubeconfig !== undefined) env['KUBECONFIG'] = options.kubeconfig;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const cmd = `${binary.split('/').pop() ?? binary} ${args.join(' ')}`;
      if (timedOut) {
        reject(new Error(`${cmd}: no result within ${timeoutMs / 1000}s\n${stderr}`));
      } else if (code !== 0 && !options.allowFailure) {
        reject(new Error(`${cmd} exited with ${String(code)}:\n${stderr}${stdout}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
