// Asks a Node.js process with an open inspector (`--inspect=127.0.0.1:0`) to collect garbage and
// report its heap, so that memory per backend is read after GC instead of from a lazily collected RSS.
//   node --experimental-websocket --import tsx test/bench/heap-probe.ts ws://127.0.0.1:PORT/ID
// Prints { "usedBytes": N } on stdout.
import { withTimeout } from './timeout.js';

interface Reply {
  id?: number;
  result?: { usedSize?: number };
  error?: { message: string };
}

async function main(): Promise<void> {
  const url = process.argv[2];
  if (!url) throw new Error('usage: heap-probe.ts <inspector ws:// URL>');
  const socket = new WebSocket(url);
  await withTimeout(
    'inspector connect',
    10_000,
    new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    }),
  );
  const waiting = new Map<number, (reply: Reply) => void>();
  socket.onmessage = (event) => {
    const reply = JSON.parse(String(event.data)) as Reply;
    if (reply.id !== undefined) waiting.get(reply.id)?.(reply);
  };
  let nextId = 0;
  const send = (method: string): Promise<Reply> => {
    const id = ++nextId;
    socket.send(JSON.stringify({ id, method }));
    return withTimeout(method, 30_000, new Promise((resolve) => waiting.set(id, resolve)));
  };
  // Twice: the first pass can leave garbage that only weak callbacks of the first made collectable.
  await send('HeapProfiler.collectGarbage');
  await send('HeapProfiler.collectGarbage');
  const usage = await send('Runtime.getHeapUsage');
  if (usage.error || usage.result?.usedSize === undefined) {
    throw new Error(`Runtime.getHeapUsage failed: ${usage.error?.message ?? 'no usedSize'}`);
  }
  process.stdout.write(`${JSON.stringify({ usedBytes: usage.result.usedSize })}\n`);
  socket.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
