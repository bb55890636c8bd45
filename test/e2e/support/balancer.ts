import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal HTTP load balancer on loopback: every request (streams included) goes to the
 * current target, which a test switches to move a client between replicas without the
 * client knowing, as a Kubernetes Service does. A target that is gone answers 502.
 */
export interface Balancer {
  url: string;
  target(url: string): void;
  /** Requests and streams forwarded to `url` and still open. */
  open(url: string): number;
  close(): Promise<void>;
}

export async function startBalancer(initial: string): Promise<Balancer> {
  let target = new URL(initial);
  const open = new Map<string, number>();
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const to = target;
    open.set(to.origin, (open.get(to.origin) ?? 0) + 1);
    res.once('close', () => open.set(to.origin, (open.get(to.origin) ?? 1) - 1));
    const upstream = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        // Headers go on at once, as a real balancer sends them: a stream's client sees it open.
        res.writeHead(answer.statusCode ?? 502, answer.headers).flushHeaders();
        answer.pipe(res);
        // An upstream that dies mid-stream (SIGKILL) must cut the client's stream too, not end it cleanly.
        answer.once('close', () => {
          if (!answer.complete) res.destroy();
        });
      },
    );
    upstream.once('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(error.message);
      else res.destroy();
    });
    res.once('close', () => upstream.destroy());
    req.pipe(upstream);
  };
  const server = createServer(forward);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    target: (url) => (target = new URL(url)),
    open: (url) => open.get(new URL(url).origin) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
