import type { ChildProcess } from 'node:child_process';

/**
 * Process trees of stdio backends. A backend started through `npx`, `uvx` or `sh -c` is a tree:
 * signalling only the direct child leaves the grandchild (the real server) running. Each backend
 * is therefore spawned as the leader of its own process group, and stopping it signals the whole
 * group.
 *
 * The set of live groups is process-wide on purpose: when the proxy must exit at once (a second
 * signal, a stuck shutdown, an uncaught exception) there is no time to walk the registry, and
 * `process.on('exit')` handlers can only run synchronous code.
 */
const liveGroups = new Set<number>();

/** Process groups exist on POSIX only; elsewhere the child alone is signalled. */
export const USE_PROCESS_GROUPS = process.platform !== 'win32';

const GRACE_MS = 2_000;
const ORPHAN_GRACE_MS = 500;
// Timers here are never unref'd: a shutdown awaiting them must not let Node exit with the tree alive.
const POLL_MS = 25;

/** Records a freshly spawned child that leads its own group (spawned with `detached: true`). */
export function trackProcessTree(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || !USE_PROCESS_GROUPS) return;
  liveGroups.add(pid);
}

/**
 * Ends the child as politely as it allows, then whatever it started: stdin closed (most MCP servers
 * exit on EOF), then SIGTERM to the group, then SIGKILL to the group. Resolves once the group is
 * gone or has been sent SIGKILL.
 */
export async function stopProcessTree(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  child.stdin?.end();
  await leaderExited(child, GRACE_MS);
  if (pid === undefined || !USE_PROCESS_GROUPS) {
    if (!hasExited(child)) {
      child.kill('SIGTERM');
      if (!(await leaderExited(child, GRACE_MS))) child.kill('SIGKILL');
    }
    return;
  }
  // The leader may have exited on EOF and left children behind; the group outlives it. Orphans get a
  // shorter grace than the leader: whatever they were serving is gone.
  const exited = hasExited(child);
  if (groupAlive(pid)) {
    signalGroup(pid, 'SIGTERM');
    if (!(await groupGone(pid, exited ? ORPHAN_GRACE_MS : GRACE_MS))) signalGroup(pid, 'SIGKILL');
  }
  liveGroups.delete(pid);
}

/** SIGKILL to every live backend group, synchronously: for exits that cannot wait. */
export function killAllProcessTreesNow(): void {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  liveGroups.clear();
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function leaderExited(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    // EPERM means a member exists that we may not signal: alive, but nothing more we can do.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function groupGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}
