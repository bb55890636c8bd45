import { serveStdio } from '@modelcontextprotocol/server/stdio';
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
export function startStdioFrontDoor(proxy: Proxy, log: Logger): StdioFrontDoor {
  const handle = serveStdio(() => proxy.gateway.createServer('stdio'), {
    transport: new JsonLinesTransport(process.stdin, process.stdout),
    onerror: (error) => log.warn('stdio front door error', { error: errorMessage(error) }),
  });
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  return { closed, close: () => handle.close() };
}
