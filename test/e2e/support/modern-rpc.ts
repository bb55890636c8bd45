// One raw 2026-07-28 JSON-RPC request over Streamable HTTP, as a client of that revision sends
// it: the protocol-version, Mcp-Method and Mcp-Name headers, and the envelope in `_meta`. Tests
// use it where the SDK client cannot show what they check (every input_required round, tasks
// with resultType "task", another subject's token on the same state).

export const MODERN = '2026-07-28';

export interface ModernAnswer {
  status: number;
  body: {
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: unknown };
  };
}

export interface ModernRequestOptions {
  /** The client's declared capabilities (the envelope's clientCapabilities); default none. */
  capabilities?: Record<string, unknown>;
  /** An OAuth access token, sent as a bearer token. */
  token?: string;
  /** More request headers (`Mcp-Param-*`), sent as given. */
  headers?: Record<string, string>;
}

export async function modernRpc(
  url: string,
  method: string,
  params: Record<string, unknown>,
  options: ModernRequestOptions = {},
): Promise<ModernAnswer> {
  // Mcp-Name mirrors params.name (tools, prompts) or params.uri (resources), as the spec says.
  const name = params['name'] ?? params['uri'] ?? params['taskId'];
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(typeof name === 'string' && { 'mcp-name': name }),
      ...options.headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientCapabilities': options.capabilities ?? {},
        },
      },
    }),
  });
  const text = await response.text();
  // The SDK may answer as SSE: the last data line is the response.
  const json = text.startsWith('{')
    ? text
    : (text
        .match(/^data: (.*)$/gm)
        ?.pop()
        ?.slice(6) ?? '{}');
  return { status: response.status, body: JSON.parse(json) as ModernAnswer['body'] };
}
