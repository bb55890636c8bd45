import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { InMemoryTransport, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { RelayHandler } from './fastpath.js';
import { withFastPath } from './fastpath.js';

/** A client end, and the fast path over the server end, recording what reaches the SDK server. */
async function setup(handler: RelayHandler) {
  const [client, server] = InMemoryTransport.createLinkedPair();
  const wrapped = withFastPath(server, (method) => (method === 'tools/call' ? handler : undefined));
  const passedOn: JSONRPCMessage[] = [];
  const received: JSONRPCMessage[] = [];
  wrapped.onmessage = (message) => passedOn.push(message);
  client.onmessage = (message) => received.push(message);
  await wrapped.start();
  await client.start();
  return { client, wrapped, passedOn, received };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const call = (id: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'x' },
});
const initialize: JSONRPCMessage = { jsonrpc: '2.0', id: 0, method: 'initialize', params: {} };

describe('withFastPath', () => {
  it('leaves everything to the SDK server until a 2025-era initialize has passed', async () => {
    const { client, passedOn, received } = await setup(async () => ({ content: [] }));
    await client.send(call(1));
    await settle();
    expect(passedOn).toEqual([call(1)]);
    expect(received).toEqual([]);
  });

  it('answers relayed calls itself after initialize, passing other methods on', async () => {
    const { client, passedOn, received } = await setup(async (params) => ({ echoed: params['name'] }));
    await client.send(initialize);
    await client.send(call(1));
    await client.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await settle();
    expect(passedOn.map((m) => ('method' in m ? m.method : ''))).toEqual(['initialize', 'tools/list']);
    expect(received).toEqual([{ jsonrpc: '2.0', id: 1, result: { echoed: 'x' } }]);
  });

  it('turns a thrown ProtocolError into the same JSON-RPC error', async () => {
    const { client, received } = await setup(async () => {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Unknown tool: "x"', { name: 'x' });
    });
    await client.send(initialize);
    await client.send(call(1));
    await settle();
    expect(received).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'Unknown tool: "x"', data: { name: 'x' } } },
    ]);
  });

  it('aborts a call the client cancels and sends no response for it', async () => {
    let aborted = false;
    const { client, received, passedOn } = await setup(
      (_params, context) =>
        new Promise((resolve) => {
          context.signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ content: [] });
          });
        }),
    );
    await client.send(initialize);
    await client.send(call(7));
    await client.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } });
    await settle();
    expect(aborted).toBe(true);
    expect(received).toEqual([]);
    expect(passedOn.map((m) => ('method' in m ? m.method : ''))).toEqual(['initialize']);
  });

  it('sends progress notifications tied to the call', async () => {
    const { client, received } = await setup(async (_params, context) => {
      await context.notify({ method: 'notifications/progress', params: { progressToken: 'p', progress: 1 } });
      return { content: [] };
    });
    await client.send(initialize);
    await client.send(call(3));
    await settle();
    expect(received).toEqual([
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 1 } },
      { jsonrpc: '2.0', id: 3, result: { content: [] } },
    ]);
  });

  it('answers a direct call (the HTTP front door) with its response, cancellable through the transport', async () => {
    let release: (() => void) | undefined;
    const { client, wrapped, received } = await setup(async () => ({ content: [] }));
    expect(wrapped.initialized).toBe(false);
    await client.send(initialize);
    await settle();
    expect(wrapped.initialized).toBe(true);
    const handler = async (params: Record<string, unknown>) => ({ echoed: params['name'] });
    await expect(wrapped.answerDirect(4, handler, { name: 'y' })).resolves.toEqual({
      jsonrpc: '2.0',
      id: 4,
      result: { echoed: 'y' },
    });
    const waiting = (id: number) =>
      wrapped.answerDirect(
        id,
        (params, context) => {
          const inner = new Promise<Record<string, unknown>>((resolve) => {
            release = () => resolve({ echoed: params['name'] });
            context.signal.addEventListener('abort', () => resolve({ content: [] }));
          });
          return inner;
        },
        { name: 'z' },
      );
    const cancelled = waiting(5);
    await client.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5 } });
    await expect(cancelled).resolves.toBeUndefined();
    const answered = waiting(6);
    release?.();
    await expect(answered).resolves.toEqual({ jsonrpc: '2.0', id: 6, result: { echoed: 'z' } });
    // Direct answers go back to the front door, never through the transport.
    await settle();
    expect(received).toEqual([]);
  });
});
