import { fileURLToPath } from 'node:url';
import { defaultNaming } from '../catalog/names.js';
import type { BackendSpec } from '../config/contract.js';
import { silentLogger } from '../log.js';
import type { Proxy } from '../proxy.js';
import { createProxy } from '../proxy.js';
import type { HttpFrontDoor, HttpOptions } from './server.js';
import { startHttpFrontDoor } from './server.js';

// Test support for this folder's tests (kept out of *.test.ts so vitest does not run it as a suite).

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A stdio backend spec for one of the example servers in test/fixtures/servers. */
export function fixtureServer(file: string, ...args: string[]): BackendSpec {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', `test/fixtures/servers/${file}`, ...args],
    cwd: REPO_ROOT,
    connectTimeoutMs: 20_000,
  };
}

export interface Harness {
  proxy: Proxy;
  frontDoor: HttpFrontDoor;
  url: string;
  /** fetch against the front door with a JSON body and optional headers. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const defaultHttpOptions: HttpOptions = {
  host: '127.0.0.1',
  port: 0,
  maxSessions: 100,
  sessionIdleMs: 60_000,
  maxBodyBytes: 4 << 20,
};

export async function startHarness(options: Partial<HttpOptions> = {}): Promise<Harness> {
  const proxy = createProxy({ log: silentLogger, naming: defaultNaming });
  let frontDoor: HttpFrontDoor;
  try {
    frontDoor = await startHttpFrontDoor(proxy, silentLogger, { ...defaultHttpOptions, ...options });
  } catch (error) {
    await proxy.close();
    throw error;
  }
  const url = frontDoor.url;
  return {
    proxy,
    frontDoor,
    url,
    call: (method, path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method,
        headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
        ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      }),
    close: async () => {
      await frontDoor.close();
      await proxy.close();
    },
  };
}
