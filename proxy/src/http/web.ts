import type { IncomingMessage, ServerResponse } from 'node:http';

// The bridge between Node's HTTP objects and the web-standard Request/Response the SDK's
// transports speak, for bodies the JSON parser has already read.

/**
 * A body-less Request with `req`'s method, URL and headers. The parsed body travels beside it
 * (`parsedBody`), which spares re-serializing every message on the hot path, as the SDK's
 * `toWebRequest` would.
 */
export function headersOnly(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  return new Request(`http://localhost${req.url ?? '/'}`, { method: req.method, headers });
}

/**
 * Writes `response` to `res`, streaming its body with backpressure; when `res` closes first
 * (the client went away) the body is cancelled, so the transport forgets the stream.
 * `flushHeaders` sends the headers before any body: for the GET notification stream, which may
 * carry nothing until its first keep-alive 15 s later, while a client (or a load balancer) must
 * see it open. An answer to a POST keeps them until its first message, as the SDK's
 * `toNodeHandler` does: one write fewer, and a client whose replica dies before answering
 * learns it at once instead of at its request timeout.
 */
export async function sendWebResponse(
  response: Response,
  res: ServerResponse,
  flushHeaders = false,
): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  const body = response.body;
  if (!body) {
    res.end();
    return;
  }
  if (flushHeaders) res.flushHeaders();
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => {});
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
    }
  } catch {
    // The body failed or was cancelled: end what was sent.
  } finally {
    res.off('close', cancel);
    res.end();
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
