// Hand-built MCP requests for the raw HTTP load generator. Nothing here goes through an SDK, so the
// bytes on the wire are exactly what a self-contained 2026-07-28 request or a 2025-era session looks like.

const ACCEPT = 'application/json, text/event-stream';
const CLIENT_INFO = { name: 'multi-mcp-bench', version: '0.1.0' };
/** autocannon replaces this with a fresh id per request (JSON-RPC ids may be strings). */
export const ID_PLACEHOLDER = '[<id>]';

export interface RawRequest {
  headers: Record<string, string>;
  /** Contains ID_PLACEHOLDER where the JSON-RPC id goes. */
  body: string;
}

function echoCall(params: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id: ID_PLACEHOLDER, method: 'tools/call', params });
}

/** 2026-07-28: no session; version, client info and capabilities travel in every request's _meta. */
export function modernEchoRequest(tool: string): RawRequest {
  return {
    headers: {
      'content-type': 'application/json',
      accept: ACCEPT,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': tool,
    },
    body: echoCall({
      name: tool,
      arguments: { message: 'hi' },
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    }),
  };
}

/** The JSON-RPC messages in a response body, whether it came as JSON or as an SSE stream. */
export function messagesIn(contentType: string | null, text: string): unknown[] {
  if (contentType?.includes('text/event-stream')) {
    return (
      text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        // Resumable servers open the stream with an empty "priming" event.
        .filter((data) => data !== '')
        .map((data) => JSON.parse(data) as unknown)
    );
  }
  return text.trim() ? [JSON.parse(text) as unknown] : [];
}

async function post(url: string, headers: Record<string, string>, body: string) {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return {
    response,
    text,
    messages: response.ok ? messagesIn(response.headers.get('content-type'), text) : [],
  };
}

/**
 * 2025 era: servers that only speak sessions get one initialized session, then every load request
 * carries its id. The session id goes in a header, so the requests stay independent of each other.
 */
export async function legacySessionEchoRequest(url: string, tool: string): Promise<RawRequest> {
  const base = { 'content-type': 'application/json', accept: ACCEPT };
  const init = await post(
    url,
    base,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: CLIENT_INFO },
    }),
  );
  const session = init.response.headers.get('mcp-session-id');
  const result = (init.messages[0] as { result?: { protocolVersion?: string } } | undefined)?.result;
  if (!init.response.ok || !session || !result?.protocolVersion) {
    throw new Error(`initialize at ${url} failed: HTTP ${init.response.status} ${init.text.slice(0, 300)}`);
  }
  const headers = { ...base, 'mcp-session-id': session, 'mcp-protocol-version': result.protocolVersion };
  const initialized = await post(
    url,
    headers,
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  );
  if (!initialized.response.ok) {
    throw new Error(`notifications/initialized at ${url} failed: HTTP ${initialized.response.status}`);
  }
  return { headers, body: echoCall({ name: tool, arguments: { message: 'hi' } }) };
}

/** Sends the request once and fails loudly unless the echo comes back: load on a wrong body measures errors. */
export async function verifyEcho(url: string, request: RawRequest): Promise<void> {
  const { response, text } = await post(url, request.headers, request.body.replace(ID_PLACEHOLDER, 'verify'));
  if (response.status !== 200 || !text.includes('Echo: hi')) {
    throw new Error(
      `the load request does not get an echo from ${url}: HTTP ${response.status} ${text.slice(0, 400)}`,
    );
  }
}
