import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { JsonLinesTransport } from './jsonl.js';

function pair(maxLineBytes?: number) {
  const input = new PassThrough();
  const output = new PassThrough();
  const transport = new JsonLinesTransport(input, output, maxLineBytes ? { maxLineBytes } : {});
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e.message);
  return { input, output, transport, messages, errors };
}

const ping = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'ping' });
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('JsonLinesTransport', () => {
  it('reassembles messages split across chunks and splits several in one chunk', async () => {
    const { input, transport, messages } = pair();
    await transport.start();
    const text = JSON.stringify(ping(1)) + '\n' + JSON.stringify(ping(2)) + '\r\n' + JSON.stringify(ping(3));
    input.write(text.slice(0, 7));
    input.write(text.slice(7, 40));
    input.write(text.slice(40) + '\n');
    await turn();
    expect(messages).toEqual([ping(1), ping(2), ping(3)]);
  });

  it('drops an oversized line with an error and keeps reading the next one', async () => {
    const { input, transport, messages, errors } = pair(100);
    await transport.start();
    input.write('{"jsonrpc":"2.0","id":1,"method":"' + 'x'.repeat(80));
    input.write('y'.repeat(80) + '"}\n' + JSON.stringify(ping(2)) + '\n');
    await turn();
    expect(errors).toEqual(['dropped a message longer than 100 bytes']);
    expect(messages).toEqual([ping(2)]);
  });

  it('reports lines that are not JSON-RPC and goes on', async () => {
    const { input, transport, messages, errors } = pair();
    await transport.start();
    input.write('hello\n[1]\n' + JSON.stringify(ping(4)) + '\n');
    await turn();
    expect(errors).toHaveLength(2);
    expect(messages).toEqual([ping(4)]);
  });

  it('sends the messages of one event-loop turn in one write', async () => {
    const { output, transport } = pair();
    const writes: string[] = [];
    output.on('data', (chunk: Buffer) => writes.push(chunk.toString()));
    await transport.start();
    await Promise.all([transport.send(ping(1)), transport.send(ping(2)), transport.send(ping(3))]);
    await turn();
    expect(writes).toEqual([[ping(1), ping(2), ping(3)].map((m) => JSON.stringify(m) + '\n').join('')]);
  });

  it('closes once when its input ends', async () => {
    const { input, transport } = pair();
    let closes = 0;
    transport.onclose = () => closes++;
    await transport.start();
    input.end();
    await turn();
    await transport.close();
    expect(closes).toBe(1);
    await expect(transport.send(ping(1))).rejects.toThrow('Not connected');
  });
});
