import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from './support/authorization-server.js';
import { startAuthorizationServer } from './support/authorization-server.js';
import { fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, startHttpProxy, stopAll } from './support/processes.js';

// A virtual server's own requirements on the client's OAuth token, with real tokens from a real
// authorization server (oidc-provider on loopback): scopes (403 insufficient_scope naming them)
// and claims, checked on every request after the endpoint's own token check.

const clients: Client[] = [];
let as: AuthorizationServer;
let proxy: RunningProxy;
let audience: string;

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
};

function post(path: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

async function connect(path: string, token: string): Promise<Client> {
  const client = new Client({ name: 'virtual-oauth-e2e', version: '1.0.0' });
  clients.push(client);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${proxy.url}${path}`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

beforeAll(async () => {
  as = await startAuthorizationServer(await freePort());
  const config = writeTempFile('mcp.json', {
    mcpServers: { calculator: fixture('calculator.ts'), weather: fixture('weather.ts') },
    virtualServers: {
      scoped: { backends: ['calculator'], scopes: ['mcp:other'] },
      // RFC 9068 access tokens carry client_id; here each client is its own subject.
      'alice-only': { backends: ['weather'], claims: { client_id: ['alice', 'carol'] } },
    },
  });
  const port = await freePort();
  audience = `http://127.0.0.1:${port}/mcp`;
  proxy = await startHttpProxy(config, [
    '--port',
    String(port),
    '--oauth-issuer',
    as.issuer,
    '--oauth-audience',
    audience,
    '--oauth-jwks-cooldown-ms',
    '0',
    // The whole catalog is for holders of mcp:tools; a virtual server asks what it asks.
    '--oauth-catalog-scopes',
    'mcp:tools',
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
  await as?.close();
});

describe('virtual servers with OAuth', () => {
  it('publishes the RFC 9728 metadata path-suffixed for a virtual server’s endpoint, with its scopes', async () => {
    const wellKnown = `${proxy.url}/.well-known/oauth-protected-resource`;
    const response = await fetch(`${wellKnown}/mcp/scoped`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: audience,
      authorization_servers: [as.issuer],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp:other'],
    });
    // A view asking no scope lists none; the whole catalog lists what --oauth-catalog-scopes asks.
    const open = (await (await fetch(`${wellKnown}/mcp/alice-only`)).json()) as Record<string, unknown>;
    expect(open['scopes_supported']).toBeUndefined();
    expect(await (await fetch(`${wellKnown}/mcp`)).json()).toMatchObject({ scopes_supported: ['mcp:tools'] });
    // No metadata for a virtual server that does not exist.
    expect((await fetch(`${wellKnown}/mcp/nope`)).status).toBe(404);
  });

  it('points a refusal at a virtual server’s endpoint to that virtual server’s metadata', async () => {
    const viewMetadata = `resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp/scoped"`;
    const missing = await post('/mcp/scoped', undefined, INITIALIZE);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe(`Bearer ${viewMetadata}`);
    const garbage = await post('/mcp/scoped', 'not-a-jwt', INITIALIZE);
    expect(garbage.status).toBe(401);
    expect(garbage.headers.get('www-authenticate')).toContain(viewMetadata);
    const sse = await fetch(`${proxy.url}/sse/scoped`, { headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(401);
    expect(sse.headers.get('www-authenticate')).toBe(`Bearer ${viewMetadata}`);
    await sse.body?.cancel();
    const narrow = await post('/mcp/scoped', await as.token('alice', audience), INITIALIZE);
    expect(narrow.status).toBe(403);
    expect(narrow.headers.get('www-authenticate')).toContain(viewMetadata);
    // The whole catalog's endpoint, and an unknown name, point at the endpoint's own metadata.
    const own = `resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp"`;
    expect((await post('/mcp', undefined, INITIALIZE)).headers.get('www-authenticate')).toBe(`Bearer ${own}`);
    expect((await post('/mcp/nope', undefined, INITIALIZE)).headers.get('www-authenticate')).toBe(
      `Bearer ${own}`,
    );
  });

  it('refuses a token without the virtual server’s scopes with 403 insufficient_scope naming them', async () => {
    const token = await as.token('alice', audience, { scope: 'mcp:tools' });
    const refused = await post('/mcp/scoped', token, INITIALIZE);
    expect(refused.status).toBe(403);
    const challenge = refused.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp:other"');
    const body = (await refused.json()) as { error: { message: string } };
    expect(body.error.message).toContain('lacks the scope mcp:other');
    const sse = await fetch(`${proxy.url}/sse/scoped`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    });
    expect(sse.status).toBe(403);
    // The endpoint's own check still comes first: no token is a 401, whatever the virtual server.
    expect((await post('/mcp/scoped', undefined, INITIALIZE)).status).toBe(401);
    // The same token is fine where no scope is asked for.
    expect((await post('/mcp', token, INITIALIZE)).status).toBe(200);
    // Refusals are counted per virtual server (401 and 403 alike); an undefined name never is.
    await post('/mcp/nope', token, INITIALIZE);
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    const series = 'multi_mcp_virtual_server_http_requests_total{virtual_server="scoped",method="POST"';
    const count = (status: number): number =>
      Number(
        metrics
          .split('\n')
          .find((l) => l.startsWith(`${series},status="${status}"} `))
          ?.split(' ')[1],
      );
    expect(count(403)).toBeGreaterThanOrEqual(1);
    expect(count(401)).toBeGreaterThanOrEqual(1);
    expect(metrics).not.toContain('virtual_server="nope"');
  });

  it('serves a token with the scopes, and checks every request of the session, not just the first', async () => {
    const token = await as.token('alice', audience, { scope: 'mcp:tools mcp:other' });
    const client = await connect('/mcp/scoped', token);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('calculator__add');

    const opened = await post('/mcp/scoped', token, INITIALIZE);
    const id = opened.headers.get('mcp-session-id') ?? '';
    await opened.text();
    const narrower = await as.token('alice', audience, { scope: 'mcp:tools' });
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const headers = { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
    expect((await post('/mcp/scoped', narrower, list, headers)).status).toBe(403);
    expect((await post('/mcp/scoped', token, list, headers)).status).toBe(200);
  });

  it('admits by claim: a listed value matches, another is refused naming the claim', async () => {
    const alice = await as.token('alice', audience);
    const client = await connect('/mcp/alice-only', alice);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'weather__get_alerts',
      'weather__get_forecast',
    ]);
    // The same token (no scope at all) does not open the whole catalog.
    const whole = await post('/mcp', alice, INITIALIZE);
    expect(whole.status).toBe(403);
    expect(whole.headers.get('www-authenticate')).toContain('scope="mcp:tools"');
    const sse = await fetch(`${proxy.url}/sse`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${alice}` },
    });
    expect(sse.status).toBe(403);
    const bob = await as.token('bob', audience);
    const refused = await post('/mcp/alice-only', bob, INITIALIZE);
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { error: { message: string } };
    expect(body.error.message).toContain('client_id must be ["alice","carol"]');
  });
});
