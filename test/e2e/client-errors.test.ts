import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, writeTempFile } from './support/paths.js';
import { startHttpProxy, stopAll } from './support/processes.js';

// What a client sees when it is pointed at the wrong place: a message that says what is wrong,
// JSON-RPC-shaped where an MCP client reads it, with a status a client library can act on.

afterAll(stopAll);

const config = () => writeTempFile('mcp.json', { mcpServers: { calculator: fixture('calculator.ts') } });
const CLIENT_MS = 10_000;

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function connectError(transport: StreamableHTTPClientTransport | SSEClientTransport): Promise<Error> {
  const client = new Client({ name: 'misdirected', version: '1.0.0' });
  const error = await within(CLIENT_MS, 'connect', client.connect(transport)).then(
    () => new Error('connected'),
    (e: unknown) => e as Error,
  );
  await client.close().catch(() => {});
  return error;
}

/** The message of an error and of its causes: fetch puts the reason (ECONNREFUSED) in `cause`. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause)
    parts.push(`${e.message} ${(e as { code?: string }).code ?? ''}`);
  return parts.join(' | ');
}

describe('an MCP client at the wrong path', () => {
  it('is told where MCP is, in a JSON-RPC error with 404', async () => {
    const proxy = await startHttpProxy(config());
    for (const path of ['/mcpx', '/', '/mcp_servers']) {
      const error = await connectError(new StreamableHTTPClientTransport(new URL(`${proxy.url}${path}`)));
      expect(error.message, path).toContain(`no MCP endpoint at ${path}`);
      expect(error.message, path).toContain('/mcp (Streamable HTTP) and /sse (legacy SSE)');
      expect((error as { code?: number }).code, path).toBe(404);
    }
    // The admin API still answers its own callers as before (no text/event-stream in Accept).
    const admin = await fetch(`${proxy.url}/mcp_servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize' }),
    });
    expect(admin.status).toBe(400);
    // A legacy SSE client gets the status (its SDK drops the body).
    const sse = await connectError(new SSEClientTransport(new URL(`${proxy.url}/ssex`)));
    expect(sse.message).toContain('404');
    await proxy.stop();
  });
});

describe('a stopped proxy', () => {
  it('fails calls in flight and new connections promptly, saying the connection was refused', async () => {
    const proxy = await startHttpProxy(config());
    const client = new Client({ name: 'left-behind', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
    await proxy.stop();
    const call = await within(
      CLIENT_MS,
      'a call after the proxy stopped',
      client.callTool({ name: 'calculator__add', arguments: { a: 1, b: 2 } }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(messages(call)).toMatch(/ECONNREFUSED|fetch failed/);
    await client.close().catch(() => {});
    const fresh = await connectError(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
    expect(messages(fresh)).toContain('ECONNREFUSED');
  });
});

describe('a wrong admin token', () => {
  it('gets 401 saying which part is wrong, while MCP clients need no token', async () => {
    const proxy = await startHttpProxy(config(), ['--admin-token', 'the-right-one']);
    const add = (headers: Record<string, string>) =>
      fetch(`${proxy.url}/mcp_servers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ mcpServers: { more: fixture('weather.ts') } }),
        signal: AbortSignal.timeout(CLIENT_MS),
      });
    const wrong = await add({ authorization: 'Bearer not-it' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    expect(await wrong.json()).toEqual({
      error: 'the admin token in "Authorization: Bearer …" is not the one multi-mcp was started with',
    });
    const none = await add({});
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: string }).error).toContain(
      'needs "Authorization: Bearer <admin token>"',
    );
    const page = await fetch(`${proxy.url}/ui/status.json`, { headers: { authorization: 'Bearer not-it' } });
    expect(page.status).toBe(401);
    const client = new Client({ name: 'no-token', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('calculator__add');
    await client.close();
    await proxy.stop();
  });
});
