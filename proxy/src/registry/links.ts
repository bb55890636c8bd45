import type {
  JSONRPCMessage,
  RequestId,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/client';

/**
 * Which relayed call a backend's request (sampling, elicitation, roots) belongs to. A 2025-era
 * server over Streamable HTTP sends such a request on the response stream of the POST that
 * carried the call it serves (the spec's related request), but the SDK's client transport hands
 * every message to the client alike, saying nothing of the stream it came on. So the proxy looks
 * for itself: the transport tags each relayed call's POST with the call's origin (who the proxy
 * relays it for), a fetch under the transport reads that POST's SSE response before the
 * transport does, and every request it sees there is linked to the origin before the SDK
 * dispatches it. Over stdio, legacy SSE or the standalone GET stream there is no such link.
 */
export interface RequestLinks {
  /**
   * Runs `send`, which must hand its request to `transport()` synchronously (RawWire.request
   * does): that request is linked to `origin`.
   */
  tag<T>(origin: object | undefined, send: () => T): T;
  /** The transport relayed calls go through: it marks each tagged request's POST. */
  transport(inner: Transport): Transport;
  /** The fetch the Streamable HTTP transport posts with: it reads the marked POSTs' streams. */
  readonly fetch: typeof fetch;
  /** The origin of the call a backend request came with (by the request's id), forgotten then. */
  take(id: RequestId): object | undefined;
}

/** Private to the proxy: set by the transport, removed by the fetch before the POST leaves. */
const LINK_HEADER = 'x-multi-mcp-link';
/** Backend requests nobody took (never dispatched) and tags never posted are dropped past this. */
const MAX_ENTRIES = 1000;
/** Only these reach the proxy's handlers (and are taken): other requests are not recorded. */
const LINKED_METHODS: ReadonlySet<string> = new Set([
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
]);

export function createRequestLinks(base: typeof fetch = fetch): RequestLinks {
  let current: object | undefined;
  let nextTag = 0;
  const tagged = new Map<string, object>();
  const asked = new Map<RequestId, object>();

  const remember = <K>(map: Map<K, object>, key: K, origin: object): void => {
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as K);
    map.set(key, origin);
  };

  const linkedFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const tag = headers.get(LINK_HEADER);
    if (tag === null) return base(input, init);
    headers.delete(LINK_HEADER);
    const origin = tagged.get(tag);
    tagged.delete(tag);
    const response = await base(input, { ...init, headers });
    const sse = response.headers.get('content-type')?.includes('text/event-stream');
    if (!origin || !sse || !response.body) return response;
    const body = watchRequests(response.body, (id, method) => {
      if (LINKED_METHODS.has(method)) remember(asked, id, origin);
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };

  return {
    tag(origin, send) {
      current = origin;
      try {
        return send();
      } finally {
        current = undefined;
      }
    },
    transport(inner) {
      const send = inner.send.bind(inner);
      inner.send = (message: JSONRPCMessage, options?: TransportSendOptions) => {
        if (current === undefined || !('method' in message) || !('id' in message))
          return send(message, options);
        const tag = String(++nextTag);
        remember(tagged, tag, current);
        return send(message, { ...options, headers: { ...options?.headers, [LINK_HEADER]: tag } });
      };
      return inner;
    },
    fetch: linkedFetch,
    take(id) {
      const origin = asked.get(id);
      asked.delete(id);
      return origin;
    },
  };
}

const NEWLINE = 0x0a;
const METHOD = Buffer.from('"method"');
const DATA = Buffer.from('data:');

/**
 * Passes an SSE stream through unchanged, calling `seen` for every JSON-RPC request in it, each
 * before the chunk that completes it goes on: the transport parses nothing this has not read.
 * Cheap on the hot path: lines are found and tested in bytes, and only a `data:` line that holds
 * `"method"` is decoded and parsed; one message per data line, as SDK servers write them (a
 * request spread over several would go unlinked, and be routed as over stdio).
 */
function watchRequests(
  body: ReadableStream<Uint8Array>,
  seen: (id: RequestId, method: string) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  /** The bytes of the line the last chunk left unfinished. */
  let carried: Buffer[] = [];
  const inspect = (line: Buffer): void => {
    if (!line.subarray(0, DATA.length).equals(DATA) || line.indexOf(METHOD) === -1) return;
    try {
      const message = JSON.parse(line.subarray(DATA.length).toString('utf8')) as {
        id?: unknown;
        method?: unknown;
      };
      const { id, method } = message;
      if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) seen(id, method);
    } catch {
      // Not JSON: the transport reports it.
    }
  };
  const scan = (chunk: Uint8Array): void => {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let from = 0;
    for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, from)) {
      const tail = bytes.subarray(from, end);
      inspect(carried.length === 0 ? tail : Buffer.concat([...carried, tail]));
      carried = [];
      from = end + 1;
    }
    if (from < bytes.length) carried.push(bytes.subarray(from));
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        scan(value);
        controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
