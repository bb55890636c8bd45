import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Server } from '@modelcontextprotocol/server';
import type { RelayHandler } from './gateway/fastpath.js';
import { withFastPath } from './gateway/fastpath.js';
import { JsonLinesTransport } from './jsonl.js';
import type { Logger } from './log.js';
import { errorMessage } from './log.js';
import type { Proxy } from './proxy.js';

export interface StdioFrontDoor {
  /** Resolves when the client closes stdin: the proxy's life ends with its one client. */
  closed: Promise<void>;
  close(): Promise<void>;
}

/** Serves one client over stdin/stdout; stdout carries only protocol, logs go to stderr. */
export function startStdioFrontDoor(
  proxy: Proxy,
  log: Logger,
  options: { view?: string } = {},
): StdioFrontDoor {
  let relayedFor: (method: string) => RelayHandler | undefined = () => undefined;
  const wire = withFastPath(new JsonLinesTransport(process.stdin, process.stdout), (method) =>
    relayedFor(method),
  );
  const factory = (): Server => {
    // With --virtual, the one client sees that virtual server's view (no token: its scopes and claims do not apply).
    const session = proxy.gateway.createSession('stdio', options.view);
    relayedFor = session.relayedFor;
    return session.server;
  };
  const handle = serveStdio(factory, {
    transport: wire,
    onerror: (error) => log.warn('stdio front door error', { error: errorMessage(error) }),
  });
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  return { closed, close: () => handle.close() };
}
