import type { JSONRPCMessage, Transport, TransportSendOptions } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';

import { createRequestLinks } from './links.js';

// The e2e tests (backend-requests.test.ts) run this against a real backend; here the HTTP side
// is a fetch that answers with SSE chunks cut where a network may cut them, which a real server
// cannot be made to do on purpose.

const encoder = new TextEncoder();

function sseResponse(chunks: string[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

/** A transport that posts each message with `fetch`, as the Streamable HTTP transport does. */
function postingTransport(post: typeof fetch): Transport & { responses: Response[] } {
  const responses: Response[] = [];
  return {
    responses,
    start: async () => {},
    close: async () => {},
    async send(message: JSONRPCMessage, options?: TransportSendOptions) {
      // Like the SDK: headers are built after an await, so only the tag can carry the link.
      await Promise.resolve();
      const headers = new Headers({ 'content-type': 'application/json', ...options?.headers });
      responses.push(
        await post('http://127.0.0.1:1/mcp', { method: 'POST', headers, body: JSON.stringify(message) }),
      );
    },
  };
}

const call = (id: string): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'tools/call', params: {} });
const event = (message: object, eol = '\n'): string =>
  `event: message${eol}data: ${JSON.stringify(message)}${eol}${eol}`;

describe('request links', () => {
  it('links a request on a call’s stream to the call before the transport can read it', async () => {
    const seenHeaders: Headers[] = [];
    const question = { jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: {} };
    const text = event(question, '\r\n');
    const cuts = [text.indexOf('"method"') + 4, text.indexOf('\r\n\r\n') + 1];
    const links = createRequestLinks(async (_url, init) => {
      seenHeaders.push(new Headers(init?.headers));
      // The request's line is cut inside "method", and its "\r\n" is cut in half: the line
      // ends in the third chunk.
      return sseResponse([text.slice(0, cuts[0]), text.slice(cuts[0], cuts[1]), text.slice(cuts[1])]);
    });
    const transport = postingTransport(links.fetch);
    links.transport(transport);
    const origin = { who: 'client A' };
    await links.tag(origin, () => transport.send(call('multi-mcp:1')));

    expect(seenHeaders[0]?.has('x-multi-mcp-link')).toBe(false);
    const reader = transport.responses[0]!.body!.getReader();
    await reader.read();
    expect(links.take(7)).toBeUndefined();
    await reader.read();
    expect(links.take(7)).toBeUndefined();
    await reader.read();
    expect(links.take(7)).toBe(origin);
    // Taken once: a second look finds nothing.
    expect(links.take(7)).toBeUndefined();
  });

  it('links nothing but the three client requests, and nothing on untagged posts', async () => {
    const messages = [
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
      { jsonrpc: '2.0', id: 2, method: 'elicitation/create', params: {} },
      { jsonrpc: '2.0', id: 'multi-mcp:1', result: { content: [{ type: 'text', text: '"method" "id"' }] } },
    ];
    const links = createRequestLinks(async () => sseResponse(messages.map((m) => event(m))));
    const transport = postingTransport(links.fetch);
    links.transport(transport);
    const origin = {};
    await links.tag(origin, () => transport.send(call('multi-mcp:1')));
    await transport.send(call('multi-mcp:2'));
    for (const response of transport.responses) await response.text();

    expect(links.take(1)).toBeUndefined();
    expect(links.take('multi-mcp:1')).toBeUndefined();
    expect(links.take(2)).toBe(origin);
  });

  it('leaves an untagged post’s request and response as they are', async () => {
    const answer = sseResponse([event({ jsonrpc: '2.0', id: 3, method: 'roots/list' })]);
    let sent: Headers | undefined;
    const links = createRequestLinks(async (_url, init) => {
      sent = new Headers(init?.headers);
      return answer;
    });
    const transport = postingTransport(links.fetch);
    links.transport(transport);
    await links.tag(undefined, () => transport.send(call('multi-mcp:1')));
    expect(transport.responses[0]).toBe(answer);
    expect(sent?.has('x-multi-mcp-link')).toBe(false);
    expect(links.take(3)).toBeUndefined();
  });
});
