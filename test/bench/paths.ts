// Where the programs under test live. Binaries are resolved from node_modules and started with this
// node directly (never through npx or a shell shim), so that killing a process kills the real server.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WORKER_SCRIPT = fileURLToPath(new URL('./client.ts', import.meta.url));
export const BYTE_RELAY = fileURLToPath(new URL('./byte-relay.ts', import.meta.url));
export const CHURN_CLIENT = fileURLToPath(new URL('./churn-client.ts', import.meta.url));
export const HEAP_PROBE = fileURLToPath(new URL('./heap-probe.ts', import.meta.url));
export const FLOOR_SERVER = fileURLToPath(new URL('./floor-server.mjs', import.meta.url));
export const TINY_SERVER = fileURLToPath(new URL('./tiny-server.mjs', import.meta.url));
/** `BENCH_PROXY_CLI` points the bench at another build (a before/after comparison in one run). */
export const PROXY_CLI = process.env['BENCH_PROXY_CLI'] ?? join(REPO_ROOT, 'proxy', 'dist', 'cli.js');
export const NODE = process.execPath;

/** The file a package's `bin` entry points at. */
function packageBin(pkg: string, bin: string): string {
  const manifestPath = join(REPO_ROOT, 'node_modules', pkg, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const relative = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[bin];
  if (!relative) throw new Error(`${pkg} has no "${bin}" bin in ${manifestPath}`);
  return join(dirname(manifestPath), relative);
}

export const EVERYTHING_BIN = packageBin('@modelcontextprotocol/server-everything', 'mcp-server-everything');
export const SUPERGATEWAY_BIN = packageBin('supergateway', 'supergateway');
