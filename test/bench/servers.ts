// The peers under test and how to start each one on loopback. The proxy and the direct runs use the same
// backend command (server-everything over stdio), so the only difference measured is the hop in between.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BYTE_RELAY, EVERYTHING_BIN, FLOOR_SERVER, NODE, PROXY_CLI, SUPERGATEWAY_BIN } from './paths.js';
import type { Processes, Started } from './processes.js';
import { freePort, waitReady } from './readiness.js';
import type { StdioTarget } from './worker-protocol.js';

export const HOST = '127.0.0.1';
export const DIRECT_TOOL = 'echo';
/** The proxy prefixes each tool with its backend's name and the default separator. */
export const PROXY_TOOL = 'everything__echo';

export interface HttpServer {
  server: Started;
  url: string;
}

const EVERYTHING_STDIO = [EVERYTHING_BIN, 'stdio'];

export function writeProxyConfig(dir: string): string {
  const path = join(dir, 'mcp.json');
  const config = { mcpServers: { everything: { command: NODE, args: EVERYTHING_STDIO } } };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** Fails fast, with the fix, instead of letting a client wait on a proxy that cannot start. */
export function assertProxyBuilt(): void {
  if (!existsSync(PROXY_CLI)) {
    throw new Error(
      `proxy not built: ${PROXY_CLI} is missing (run \`npm run build\`, or use \`npm run bench\`)`,
    );
  }
}

export function directStdioTarget(logDir: string): StdioTarget {
  return {
    kind: 'stdio',
    command: NODE,
    args: EVERYTHING_STDIO,
    stderrLog: join(logDir, 'direct-stdio.log'),
  };
}

/** The same backend behind a process that only copies bytes: the floor of any Node.js hop. */
export function byteRelayStdioTarget(logDir: string): StdioTarget {
  return {
    kind: 'stdio',
    command: NODE,
    args: ['--import', 'tsx', BYTE_RELAY, NODE, ...EVERYTHING_STDIO],
    stderrLog: join(logDir, 'byte-relay-stdio.log'),
  };
}

export function proxyStdioTarget(configPath: string, logDir: string): StdioTarget {
  assertProxyBuilt();
  return {
    kind: 'stdio',
    command: NODE,
    args: [PROXY_CLI, '--transport', 'stdio', '--config', configPath],
    stderrLog: join(logDir, 'proxy-stdio.log'),
  };
}

export async function startProxyHttp(
  processes: Processes,
  configPath: string,
  nodeFlags: string[] = [],
  proxyFlags: string[] = [],
): Promise<HttpServer> {
  assertProxyBuilt();
  const port = await freePort();
  const args = [
    ...nodeFlags,
    PROXY_CLI,
    '--transport',
    'http',
    '--host',
    HOST,
    '--port',
    String(port),
    '--config',
    configPath,
    ...proxyFlags,
  ];
  const server = processes.start('proxy-http', NODE, args);
  // /readyz turns 200 once the startup backends have settled, so the first call finds the tool.
  await waitReady(server, { host: HOST, port, okUrl: `http://${HOST}:${port}/readyz` });
  return { server, url: `http://${HOST}:${port}/mcp` };
}

const shellQuote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

export async function startSupergateway(processes: Processes): Promise<HttpServer> {
  const port = await freePort();
  // supergateway has no bind-address flag (it listens on all interfaces); clients use loopback only.
  // Logging off: the strongest version of the baseline the proxy is held against.
  const args = [
    SUPERGATEWAY_BIN,
    '--stdio',
    [NODE, ...EVERYTHING_STDIO].map(shellQuote).join(' '),
    '--outputTransport',
    'streamableHttp',
    '--stateful',
    '--port',
    String(port),
    '--logLevel',
    'none',
    '--healthEndpoint',
    '/healthz',
  ];
  const server = processes.start('supergateway', NODE, args);
  await waitReady(server, { host: HOST, port, okUrl: `http://${HOST}:${port}/healthz` });
  return { server, url: `http://${HOST}:${port}/mcp` };
}

/** The plain `node:http` JSON-RPC echo (floor-server.mjs): the floor of any Node HTTP hop. */
export async function startFloorHttp(processes: Processes): Promise<HttpServer> {
  const port = await freePort();
  const server = processes.start('floor-http', NODE, [FLOOR_SERVER, String(port)]);
  await waitReady(server, { host: HOST, port, okUrl: `http://${HOST}:${port}/` });
  return { server, url: `http://${HOST}:${port}/mcp` };
}

export async function startEverythingHttp(processes: Processes): Promise<HttpServer> {
  const port = await freePort();
  // server-everything takes its port from PORT and listens on all interfaces; clients use loopback only.
  const server = processes.start('everything-http', NODE, [EVERYTHING_BIN, 'streamableHttp'], {
    PORT: String(port),
  });
  await waitReady(server, { host: HOST, port });
  return { server, url: `http://${HOST}:${port}/mcp` };
}
