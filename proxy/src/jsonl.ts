import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';

/** The SDK's stdio limit: a longer line is dropped with an error, never buffered without bound. */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;

export interface JsonLinesOptions {
  maxLineBytes?: number;
  /** Releases what the transport runs on (a child process, stdin); called once on close(). */
  release?: () => Promise<void>;
}

/**
 * Newline-delimited JSON-RPC over a pair of streams: the stdio framing, for both the front
 * door (stdin/stdout) and stdio backends (a child's pipes). It replaces the SDK's stdio
 * transports on the hot path for two measured reasons: messages sent in the same event-loop
 * turn leave in one write (one syscall and one wake-up of the peer, not one per message), and
 * inbound lines are parsed with JSON.parse alone, leaving validation to the protocol layer.
 */
export class JsonLinesTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private partial: Buffer[] = [];
  private partialBytes = 0;
  private discarding = false;
  private outbox: string[] = [];
  private flushQueued = false;
  private closed = false;
  private readonly maxLineBytes: number;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: JsonLinesOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  }

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.on('error', this.onStreamError);
    this.output.on('error', this.onStreamError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('Not connected'));
    this.outbox.push(JSON.stringify(message) + '\n');
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flush);
    }
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    await this.options.release?.();
    this.onclose?.();
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.outbox.length === 0 || this.closed) return;
    const chunk = this.outbox.length === 1 ? this.outbox[0] : this.outbox.join('');
    this.outbox = [];
    this.output.write(chunk as string);
  };

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      if (this.partialBytes + piece.length > this.maxLineBytes) {
        this.dropPartial();
        continue;
      }
      const line = this.partialBytes === 0 ? piece : Buffer.concat([...this.partial, piece]);
      this.partial = [];
      this.partialBytes = 0;
      this.deliver(line);
    }
    if (start < chunk.length && !this.discarding) {
      const rest = chunk.subarray(start);
      if (this.partialBytes + rest.length > this.maxLineBytes) {
        this.dropPartial();
        this.discarding = true;
      } else {
        this.partial.push(rest);
        this.partialBytes += rest.length;
      }
    }
  };

  private dropPartial(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.onerror?.(new Error(`dropped a message longer than ${this.maxLineBytes} bytes`));
  }

  private deliver(line: Buffer): void {
    const text = line.toString('utf8').trim();
    if (text === '') return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (error) {
      this.onerror?.(new Error(`not JSON: ${(error as Error).message}`));
      return;
    }
    if (
      typeof message !== 'object' ||
      message === null ||
      (message as { jsonrpc?: unknown }).jsonrpc !== '2.0'
    ) {
      this.onerror?.(new Error('not a JSON-RPC 2.0 message'));
      return;
    }
    this.onmessage?.(message as JSONRPCMessage);
  }

  private readonly onEnd = (): void => void this.close();

  private readonly onStreamError = (error: Error): void => this.onerror?.(error);
}
