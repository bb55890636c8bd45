import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Transport } from '@modelcontextprotocol/client';
import { SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { RemoteBackendSpec, StdioBackendSpec } from '../config/contract.js';
import { JsonLinesTransport } from '../jsonl.js';
import type { Logger } from '../log.js';
import type { RequestLinks } from './links.js';
import { stopProcessTree, trackProcessTree, USE_PROCESS_GROUPS } from './processes.js';

/** The wire a backend is reached over, as reported in status and metrics. */
export type BackendTransportKind = 'stdio' | 'streamable-http' | 'sse';

/**
 * Spawns the backend program directly (never through a shell), as the leader of its own process
 * group, so closing the transport ends the program and everything it started (see processes.ts).
 * The child gets the SDK's safe default environment plus the
 * spec's `env`, never the proxy's whole environment (which may hold the proxy's secrets).
 * Its stderr goes to the proxy log, line by line, tagged with the backend's name; when it dies,
 * the error carries its last stderr lines, which usually say why (status page, admin API).
 */
const STDERR_TAIL_LINES = 3;
/** How long a closed stdout may wait for the process's exit, so the exit (and its stderr) is reported first. */
const EXIT_WAIT_MS = 1_000;

export function stdioTransport(spec: StdioBackendSpec, log: Logger): Transport {
  let inner: JsonLinesTransport | undefined;
  const transport: Transport = {
    async start() {
      const child = spawn(spec.command, spec.args ?? [], {
        env: { ...getDefaultEnvironment(), ...spec.env },
        ...(spec.cwd !== undefined && { cwd: spec.cwd }),
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        detached: USE_PROCESS_GROUPS,
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      trackProcessTree(child);
      child.on('error', (error) => transport.onerror?.(error));
      const stderrTail: string[] = [];
      createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
        log.info(line, { stream: 'stderr' });
        if (line.trim() === '') return;
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      });
      // 'close' comes after the exit and the end of its stdio, so the stderr tail is complete; bounded,
      // since a grandchild may hold stderr open.
      const closed = new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.once('exit', () => setTimeout(resolve, EXIT_WAIT_MS).unref());
      });
      const lines = new JsonLinesTransport(child.stdout, child.stdin, {
        release: () => stopProcessTree(child),
      });
      lines.onmessage = (message) => transport.onmessage?.(message);
      lines.onerror = (error) => transport.onerror?.(error);
      lines.onclose = () => {
        const wait = new Promise<void>((resolve) => setTimeout(resolve, EXIT_WAIT_MS).unref());
        void Promise.race([closed, wait]).then(() => transport.onclose?.());
      };
      child.once('exit', (code, signal) => {
        void closed.then(() => {
          if (code !== 0 || signal) {
            const said = stderrTail.length > 0 ? `; stderr: ${maskEnv(stderrTail.join(' / '), spec)}` : '';
            transport.onerror?.(new Error(`process exited (${signal ?? `code ${code}`})${said}`));
          }
          void lines.close();
        });
      });
      inner = lines;
      await lines.start();
    },
    send: (message) => (inner ? inner.send(message) : Promise.reject(new Error('Not connected'))),
    close: () => inner?.close() ?? Promise.resolve(),
  };
  return transport;
}

/** The spec's env values are masked in status (admin API, status page); so are they where the program prints them. */
function maskEnv(text: string, spec: StdioBackendSpec): string {
  const values = Object.values(spec.env ?? {}).filter((value) => value.length >= 4);
  return values.reduce((masked, value) => masked.split(value).join('<redacted>'), text);
}

/**
 * With `links`, backend requests that arrive on a relayed call's Streamable HTTP response stream
 * are linked to that call (links.ts); legacy SSE carries every message on one stream, so none are.
 */
export function remoteTransport(
  spec: RemoteBackendSpec,
  kind: 'streamable-http' | 'sse',
  links?: RequestLinks,
): Transport {
  const url = new URL(spec.url);
  const requestInit: RequestInit = spec.headers ? { headers: spec.headers } : {};
  if (kind === 'sse')
    return new SSEClientTransport(url, {
      requestInit,
      eventSourceInit: { fetch: withHeaders(spec.headers) },
    });
  if (!links) return new StreamableHTTPClientTransport(url, { requestInit });
  return links.transport(new StreamableHTTPClientTransport(url, { requestInit, fetch: links.fetch }));
}

/** The SSE GET stream is opened by EventSource, which only sends configured headers via its fetch. */
function withHeaders(headers: Record<string, string> | undefined): typeof fetch {
  return (input, init) => fetch(input, { ...init, headers: { ...toRecord(init?.headers), ...headers } });
}

function toRecord(headers: ConstructorParameters<typeof Headers>[0] | undefined): Record<string, string> {
  return headers ? Object.fromEntries(new Headers(headers).entries()) : {};
}
