import type { JSONRPCMessage } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/client';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { BackendRpcError, RawWire, WireClosedError, WireTimeoutError } from './wire.js';

/** The wire over one end of a pair; the other end plays the backend. */
async function setup() {
  const [proxySide, backendSide] = InMemoryTransport.createLinkedPair();
  const wire = new RawWire(proxySide);
  const toClient: JSONRPCMessage[] = [];
  const atBackend: JSONRPCMessage[] = [];
  wire.onmessage = (message) => toClient.push(message);
  backendSide.onmessage = (message) => atBackend.push(message);
  await wire.start();
  await backendSide.start();
  return { wire, backendSide, toClient, atBackend };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
const idOf = (message: JSONRPCMessage | undefined) => (message && 'id' in message ? message.id : undefined);

describe('RawWire', () => {
  it('returns the backend’s result and keeps its answer away from the SDK client', async () => {
    const { wire, backendSide, toClient, atBackend } = await setup();
    const call = wire.request('tools/call', { name: 'echo' }, { timeoutMs: 1000 });
    await settle();
    await backendSide.send({ jsonrpc: '2.0', id: idOf(atBackend[0])!, result: { content: [], extra: 1 } });
    expect(await call).toEqual({ content: [], extra: 1 });
    expect(toClient).toEqual([]);
  });

  it('passes everything else to the SDK client unchanged', async () => {
    const { backendSide, toClient } = await setup();
    const notification: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
    const response: JSONRPCMessage = { jsonrpc: '2.0', id: 1, result: {} };
    await backendSide.send(notification);
    await backendSide.send(response);
    await settle();
    expect(toClient).toEqual([notification, response]);
  });

  it('rejects with the backend’s own JSON-RPC error', async () => {
    const { wire, backendSide, atBackend } = await setup();
    const call = wire.request('tools/call', { name: 'x' }, { timeoutMs: 1000 });
    await settle();
    await backendSide.send({
      jsonrpc: '2.0',
      id: idOf(atBackend[0])!,
      error: { code: -32602, message: 'Unknown tool: x', data: { name: 'x' } },
    });
    await expect(call).rejects.toEqual(new BackendRpcError(-32602, 'Unknown tool: x', { name: 'x' }));
  });

  it('relays progress under its own token and restarts the timeout on each', async () => {
    // The request's timer runs on a fake clock: each progress lands 50 ms into an 80 ms timeout
    // whatever the machine's load, and the 150 ms total proves the timer restarted.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => void vi.useRealTimers());
    const { wire, backendSide, atBackend } = await setup();
    const seen: number[] = [];
    const call = wire.request('tools/call', {}, { timeoutMs: 80, onprogress: (p) => seen.push(p.progress) });
    await vi.advanceTimersByTimeAsync(0);
    const request = atBackend[0] as { id: string; params: { _meta: { progressToken: string } } };
    expect(request.params._meta.progressToken).toBe(request.id);
    for (let i = 1; i <= 3; i++) {
      await vi.advanceTimersByTimeAsync(50);
      await backendSide.send({
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: request.id, progress: i },
      });
    }
    await backendSide.send({ jsonrpc: '2.0', id: request.id, result: { done: true } });
    expect(await call).toEqual({ done: true });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('times out, telling the backend to cancel', async () => {
    const { wire, atBackend } = await setup();
    await expect(wire.request('tools/call', {}, { timeoutMs: 30 })).rejects.toBeInstanceOf(WireTimeoutError);
    await settle();
    expect(atBackend[1]).toMatchObject({
      method: 'notifications/cancelled',
      params: { requestId: idOf(atBackend[0]) },
    });
  });

  it('cancels at the backend when the caller aborts', async () => {
    const { wire, atBackend } = await setup();
    const controller = new AbortController();
    const call = wire.request('tools/call', {}, { timeoutMs: 1000, signal: controller.signal });
    controller.abort('user');
    await expect(call).rejects.toThrow('user');
    await settle();
    expect(atBackend[1]).toMatchObject({ method: 'notifications/cancelled', params: { reason: 'user' } });
  });

  it('fails calls in flight when the connection closes', async () => {
    const { wire, backendSide } = await setup();
    const call = wire.request('tools/call', {}, { timeoutMs: 1000 });
    await backendSide.close();
    await expect(call).rejects.toBeInstanceOf(WireClosedError);
    await expect(wire.request('tools/call', {}, { timeoutMs: 1000 })).rejects.toBeInstanceOf(WireClosedError);
  });
});
