import type { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import type { Client as ClientV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { v1Http, v2Http } from './support/clients.js';
import { modernRpc } from './support/modern-rpc.js';
import { writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, startModernFixture, stopAll } from './support/processes.js';

// 2026-07-28 custom headers from tool parameters (SEP-2243) through the proxy. The backend
// (test/fixtures/servers/modern.ts, v2 server SDK over HTTP) marks `region` and `priority` of
// `route_query` with x-mcp-header, and the SDK refuses a call whose Mcp-Param-Region /
// Mcp-Param-Priority headers are missing or disagree with the arguments: a call only succeeds
// when the proxy sends them. The proxy in turn checks what its own 2026-07-28 clients send.

const TOOL = 'modern__route_query';
const ARGS = { region: 'eu-west-1', priority: 3, query: 'SELECT 1' };
const ANSWER = 'region=eu-west-1; priority=3; query=SELECT 1';
const textOf = (result: unknown): string | undefined =>
  (result as { content?: { text?: string }[] }).content?.[0]?.text;

describe('Mcp-Param-* headers through the proxy', () => {
  let proxy: RunningProxy;
  const clients: (ClientV1 | ClientV2)[] = [];

  beforeAll(async () => {
    const url = await startModernFixture();
    proxy = await startHttpProxy(writeTempFile('mcp.json', { mcpServers: { modern: { url } } }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stopAll();
  });

  it('a 2026-07-28 client calls a tool that declares headers: they reach the backend', async () => {
    const client = await v2Http(proxy.url, true);
    clients.push(client);
    const { tools } = await client.listTools();
    // Listed as the backend declares it, so the client mirrors the same parameters to the proxy.
    const listed = tools.find((t) => t.name === TOOL);
    expect(listed?.inputSchema.properties?.['region']).toMatchObject({ 'x-mcp-header': 'Region' });
    expect(textOf(await client.callTool({ name: TOOL, arguments: ARGS }))).toBe(ANSWER);
    // A value that is not plain ASCII goes out Base64-encoded, and still agrees with the body.
    const zurich = await client.callTool({ name: TOOL, arguments: { region: ' Zürich ', query: 'q' } });
    expect(textOf(zurich)).toBe('region= Zürich ; priority=none; query=q');
  });

  it('a 2025-era client, which sends no such headers, calls it too: the proxy adds them', async () => {
    const client = await v1Http(proxy.url);
    clients.push(client);
    expect(textOf(await client.callTool({ name: TOOL, arguments: ARGS }))).toBe(ANSWER);
  });

  it('passes on the Mcp-Param-* headers of a 2026-07-28 call that the tool does not declare', async () => {
    const answer = await modernRpc(
      `${proxy.url}/mcp`,
      'tools/call',
      { name: 'modern__param_headers', arguments: {} },
      { headers: { 'Mcp-Param-Tenant': 'acme', 'Mcp-Param-Trace': '=?base64?dMOpc3Q=?=' } },
    );
    expect(answer.status).toBe(200);
    expect(textOf(answer.body.result)).toBe('mcp-param-tenant: acme\nmcp-param-trace: =?base64?dMOpc3Q=?=');
    const plain = await modernRpc(`${proxy.url}/mcp`, 'tools/call', { name: 'modern__param_headers' });
    expect(textOf(plain.body.result)).toBe('none');
  });

  it('refuses a 2026-07-28 call whose header disagrees with its argument: 400, -32020, naming both', async () => {
    const answer = await modernRpc(
      `${proxy.url}/mcp`,
      'tools/call',
      { name: TOOL, arguments: ARGS },
      { headers: { 'Mcp-Param-Region': 'us-east-1', 'Mcp-Param-Priority': '3' } },
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe(-32020);
    expect(answer.body.error?.message).toContain(
      'the Mcp-Param-Region header decodes to "us-east-1" but the body carries region="eu-west-1"',
    );
  });

  it('refuses a call without a declared header, and one whose Base64 is broken', async () => {
    const missing = await modernRpc(
      `${proxy.url}/mcp`,
      'tools/call',
      { name: TOOL, arguments: ARGS },
      { headers: { 'Mcp-Param-Region': 'eu-west-1' } },
    );
    expect(missing.status).toBe(400);
    expect(missing.body.error?.code).toBe(-32020);
    expect(missing.body.error?.message).toContain(
      'the body carries priority=3 but the Mcp-Param-Priority header is absent',
    );
    const broken = await modernRpc(
      `${proxy.url}/mcp`,
      'tools/call',
      { name: TOOL, arguments: ARGS },
      { headers: { 'Mcp-Param-Region': '=?base64?not base64?=', 'Mcp-Param-Priority': '3' } },
    );
    expect(broken.status).toBe(400);
    expect(broken.body.error?.message).toContain(
      'the Mcp-Param-Region header carries an invalid Base64 sentinel value',
    );
  });

  it('accepts what the spec allows: an integer written as 3.0, no header for an absent argument', async () => {
    const answer = await modernRpc(
      `${proxy.url}/mcp`,
      'tools/call',
      { name: TOOL, arguments: { region: 'eu-west-1', query: 'q' } },
      { headers: { 'Mcp-Param-Region': 'eu-west-1', 'Mcp-Param-Priority': '3.0' } },
    );
    expect(answer.status).toBe(200);
    expect(textOf(answer.body.result ?? {})).toBe('region=eu-west-1; priority=none; query=q');
    const numeric = await modernRpc(
      `${proxy.url}/mcp`,
      'tools/call',
      { name: TOOL, arguments: ARGS },
      { headers: { 'Mcp-Param-Region': 'eu-west-1', 'Mcp-Param-Priority': '3.0' } },
    );
    expect(numeric.status).toBe(200);
    expect(textOf(numeric.body.result ?? {})).toBe(ANSWER);
  });
});
