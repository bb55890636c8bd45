import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as SseV1 } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const info = { name: 'e2e', version: '1.0.0' };

/** The v1 SDK client most MCP hosts ship today, over Streamable HTTP (a 2025-era session). */
export async function v1Http(url: string): Promise<ClientV1> {
  const client = new ClientV1(info);
  await client.connect(new HttpV1(new URL(`${url}/mcp`)));
  return client;
}

/** The v1 SDK client over legacy HTTP+SSE. */
export async function v1Sse(url: string): Promise<ClientV1> {
  const client = new ClientV1(info);
  await client.connect(new SseV1(new URL(`${url}/sse`)));
  return client;
}

/** The v1 SDK client spawning a program over stdio. */
export async function v1Stdio(
  command: string,
  args: string[],
  env?: Record<string, string>,
): Promise<ClientV1> {
  const client = new ClientV1(info);
  await client.connect(new StdioV1({ command, args, stderr: 'pipe', ...(env && { env }) }));
  return client;
}

/** The v2 SDK client; `modern` negotiates 2026-07-28 (stateless), otherwise a 2025-era session. */
export async function v2Http(url: string, modern: boolean): Promise<ClientV2> {
  const client = new ClientV2(info, modern ? { versionNegotiation: { mode: 'auto' } } : {});
  await client.connect(new HttpV2(new URL(`${url}/mcp`)));
  return client;
}

export type AnyClient = ClientV1 | ClientV2;
