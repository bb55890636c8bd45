import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

// Requests counted per virtual server, with a real backend and a real client at /mcp/<name>:
// the label takes only defined names, and a removed view's series go with it.

describe('per virtual server metrics', () => {
  let h: Harness;
  let client: V1Client;

  beforeAll(async () => {
    h = await startHarness();
    await h.call('PUT', '/mcp_servers/calc', fixtureServer('calculator.ts'));
    expect((await h.call('PUT', '/virtual_servers/team', { backends: ['calc'] })).status).toBeLessThan(300);
    await h.proxy.markReadyWhenSettled(20_000);
    client = new V1Client({ name: 'view-metrics', version: '1.0.0' });
    await client.connect(new V1HttpTransport(new URL(`${h.url}/mcp/team`)));
  }, 30_000);
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  const scrape = async (): Promise<string> => (await h.call('GET', '/metrics')).text();

  it('counts relayed requests and HTTP requests by virtual server, never an undefined name', async () => {
    await client.callTool({ name: 'calc__add', arguments: { a: 1, b: 2 } });
    await client.callTool({ name: 'calc__divide', arguments: { a: 1, b: 0 } });
    // A stateless 2026-07-28 call at the view's endpoint is the view's too.
    const modern = await fetch(`${h.url}/mcp/team`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'calc__add',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'calc__add',
          arguments: { a: 2, b: 2 },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });
    expect(await modern.text()).toContain('"result"');
    // Through the whole catalog: not counted for the view.
    const whole = new V1Client({ name: 'whole', version: '1.0.0' });
    await whole.connect(new V1HttpTransport(new URL(`${h.url}/mcp`)));
    await whole.callTool({ name: 'calc__add', arguments: { a: 1, b: 2 } });
    await whole.close();
    expect((await h.call('POST', '/mcp/nope', {})).status).toBe(404);

    const text = await scrape();
    const relayed =
      'multi_mcp_virtual_server_relayed_requests_total{virtual_server="team",method="tools/call"';
    expect(text).toContain(`${relayed},outcome="ok"} 2\n`);
    const divided = text.includes(`${relayed},outcome="tool_error"} 1\n`);
    const failed = text.includes(`${relayed},outcome="protocol_error"} 1\n`);
    expect(divided || failed).toBe(true);
    const posts =
      /multi_mcp_virtual_server_http_requests_total\{virtual_server="team",method="POST",status="200"\} (\d+)/.exec(
        text,
      );
    // initialize, the two calls (notifications/initialized is a 202) and the 2026-07-28 call.
    expect(Number(posts?.[1])).toBe(4);
    expect(text).not.toContain('virtual_server="nope"');
  });

  it('drops a removed virtual server’s series', async () => {
    expect((await h.call('DELETE', '/virtual_servers/team')).status).toBeLessThan(300);
    const text = await scrape();
    expect(text).not.toContain('virtual_server="team"');
    expect(text).toContain('# TYPE multi_mcp_virtual_server_relayed_requests_total counter');
  });
});
