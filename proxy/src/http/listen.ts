import type { RequestListener } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { errorMessage } from '../log.js';

/** How long close() lets requests still being answered finish before cutting their sockets. */
export const CLOSE_GRACE_MS = 3_000;

export interface Listening {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string;
  /** Requests being answered, event streams (GETs, which never end on their own) excepted. */
  callsInFlight(): number;
  /**
   * Stops accepting connections, runs `beforeDrain` (ending sessions and streams), gives requests
   * still being answered a grace period, then cuts whatever is left. Idempotent.
   */
  close(beforeDrain?: () => Promise<void>): Promise<void>;
}

/** Which flags set this listener's address, for error messages (`--port`, `--admin-port`). */
export interface ListenFlags {
  host: string;
  port: string;
}

/** Binds one HTTP listener; failures say what to change and with which flag. */
export async function listen(
  app: RequestListener,
  host: string,
  port: number,
  flags: ListenFlags,
  log: Logger,
): Promise<Listening> {
  const server = createServer(app);
  // Requests still being answered; on close, sockets with none are cut at once, the rest get a grace period.
  let inFlight = 0;
  let calls = 0;
  let drained: (() => void) | undefined;
  server.on('request', (req, res) => {
    inFlight++;
    const call = req.method !== 'GET';
    if (call) calls++;
    res.once('close', () => {
      if (call) calls--;
      if (--inFlight === 0) drained?.();
    });
  });
  server.on('clientError', (error, socket) => {
    log.debug('http client error', { error: errorMessage(error) });
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE'
        ? `: the port is in use; stop the other process or choose another with ${flags.port}`
        : code === 'EADDRNOTAVAIL'
          ? `: no network interface has this address; check ${flags.host}`
          : code === 'EACCES'
            ? `: not permitted; ports below 1024 need privileges, choose another with ${flags.port}`
            : '';
    throw new Error(`cannot listen on ${host}:${port}: ${errorMessage(error)}${hint}`, { cause: error });
  }
  server.on('error', (error) => log.error('http server error', { error: errorMessage(error) }));
  const bound = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = (beforeDrain?: () => Promise<void>): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await beforeDrain?.();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
        timer.unref();
      });
      const idle = new Promise<void>((resolve) => {
        drained = resolve;
        if (inFlight === 0) resolve();
      });
      await Promise.race([stopped, idle, grace]);
      clearTimeout(timer);
      // Keep-alive and never-used sockets hold server.close() open; a stuck stream is cut after the grace.
      server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };

  return { url: `http://${hostForUrl}:${bound}`, callsInFlight: () => calls, close };
}
