/**
 * A network namespace for processes that must have an address the API server accepts in an
 * EndpointSlice (it rejects loopback): one veth pair, the host side 198.18.N.1/24, the namespace side
 * carrying one address per process (198.18.N.2, .3, …). Needs root and `ip` (iproute2). The names
 * and the /24 are random so parallel runs do not meet; `remove()` deletes the namespace, which
 * takes the veth pair with it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface NetNamespace {
  name: string;
  hostAddress: string;
  /** The addresses inside the namespace, one per process that needs its own. */
  addresses: string[];
  /** `ip netns exec <name>` in front of a command. */
  wrap(command: string, args: string[]): [string, string[]];
  remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await exec('ip', args, { timeout: 10_000 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export async function createNetNamespace(count: number): Promise<NetNamespace> {
  if (process.getuid?.() !== 0)
    throw new Error('network namespaces need root (the k8s tests run as root here and in CI)');
  const used = await ip('-o', '-4', 'addr', 'show');
  let subnet = -1;
  for (let tries = 0; tries < 50 && subnet < 0; tries++) {
    const candidate = randomBytes(2).readUInt16BE() % 512; // 198.18.0.0/15 = 512 /24s
    if (!used.includes(` ${cidrBase(candidate)}.`)) subnet = candidate;
  }
  if (subnet < 0) throw new Error('no free /24 in 198.18.0.0/15');
  const id = randomBytes(3).toString('hex');
  const name = `mmcp-${id}`;
  const hostIf = `mmh${id}`;
  const nsIf = `mmn${id}`;
  const base = cidrBase(subnet);
  const hostAddress = `${base}.1`;
  const addresses = Array.from({ length: count }, (_, i) => `${base}.${i + 2}`);
  await ip('netns', 'add', name);
  const remove = async (): Promise<void> => {
    await ip('netns', 'del', name).catch(() => undefined);
    await ip('link', 'del', hostIf).catch(() => undefined);
  };
  try {
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    await ip('link', 'set', nsIf, 'netns', name);
    await ip('addr', 'add', `${hostAddress}/24`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    const inNs = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args);
    for (const a of addresses) await inNs('addr', 'add', `${a}/24`, 'dev', nsIf);
    await inNs('link', 'set', nsIf, 'up');
    await inNs('link', 'set', 'lo', 'up');
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    name,
    hostAddress,
    addresses,
    wrap: (command, args) => ['ip', ['netns', 'exec', name, command, ...args]],
    remove,
  };
}

function cidrBase(subnet: number): string {
  return `198.${18 + (subnet >> 8)}.${subnet & 255}`;
}
