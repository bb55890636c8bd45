// The contract between the orchestrator (run.ts) and the load worker (client.ts). The worker gets one
// JSON-encoded WorkerSpec as its only argument and prints one JSON-encoded WorkerResult on stdout.

export type WorkerTarget =
  // The worker spawns the server itself, as desktop clients do, so the server is its child process.
  | { kind: 'stdio'; command: string; args: string[]; env?: Record<string, string>; stderrLog: string }
  | { kind: 'http'; url: string };

export type StdioTarget = Extract<WorkerTarget, { kind: 'stdio' }>;

export interface LoadRun {
  concurrency: number;
  calls: number;
}

export interface WorkerSpec {
  target: WorkerTarget;
  tool: string;
  /** Calls made at each run's concurrency before its measurement starts. */
  warmup: number;
  runs: LoadRun[];
}

export interface RunResult {
  concurrency: number;
  calls: number;
  p50: number;
  p99: number;
  callsPerSec: number;
}

export interface WorkerResult {
  runs: RunResult[];
}
