import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/client';
import { SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { RemoteBackendSpec, StdioBackendSpec } from '../config/contract.js';
import type { Logger } from '../log.js';

/** The wire a backend is reached over, as reported in status and metrics. */
export type BackendTransportKind = 'stdio' | 'streamable-http' | 'sse';

/**
 * Spawns the backend program directly (never through a shell), so closing the transport
 * signals the program itself. The child gets the SDK's safe default environment plus the
 * spec's `env`, never the proxy's whole environment (which may hold the proxy's secrets).
 * Its stderr goes to the proxy log, line by line, tagged with the backend's name.
 */
export function stdioTransport(spec: StdioBackendSpec, log: Logger): StdioClientTransport {
  const transport = new StdioClientTransport({
    command: spec.command,
    args: spec.args ?? [],
    env: { ...getDefaultEnvironment(), ...spec.env },
    ...(spec.cwd !== undefined && { cwd: spec.cwd }),
    stderr: 'pipe',
  });
  const stderr = transport.stderr;
  if (stderr) {
    const lines = createInterface({ input: stderr as Readable, crlfDelay: Infinity });
    lines.on('line', (line) => log.info(line, { stream: 'stderr' }));
  }
  return transport;
}

export function remoteTransport(spec: RemoteBackendSpec, kind: 'streamable-http' | 'sse'): Transport {
  const url = new URL(spec.url);
  const requestInit: RequestInit = spec.headers ? { headers: spec.headers } : {};
  return kind === 'sse'
    ? new SSEClientTransport(url, { requestInit, eventSourceInit: { fetch: withHeaders(spec.headers) } })
    : new StreamableHTTPClientTransport(url, { requestInit });
}

/** The SSE GET stream is opened by EventSource, which only sends configured headers via its fetch. */
function withHeaders(headers: Record<string, string> | undefined): typeof fetch {
  return (input, init) => fetch(input, { ...init, headers: { ...toRecord(init?.headers), ...headers } });
}

function toRecord(headers: ConstructorParameters<typeof Headers>[0] | undefined): Record<string, string> {
  return headers ? Object.fromEntries(new Headers(headers).entries()) : {};
}
