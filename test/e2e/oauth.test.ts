import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from './support/authorization-server.js';
import { startAuthorizationServer } from './support/authorization-server.js';
import { repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, start, startHttpProxy, stopAll, waitForOutput } from './support/processes.js';

// The MCP endpoint as an OAuth 2.1 resource server, against a real authorization server
// (oidc-provider, in this process, on loopback) and real proxy processes: what a client with a
// good, a bad or no token sees, and that a session belongs to the subject that opened it.

const clients: Client[] = [];
let as: AuthorizationServer;
let stranger: AuthorizationServer;
let proxy: RunningProxy;
let replica: RunningProxy;
let audience: string;

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
};

function post(url: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
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

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  clients.push(client);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const challenge = (response: Response): string => response.headers.get('www-authenticate') ?? '';

beforeAll(async () => {
  as = await startAuthorizationServer(await freePort());
  stranger = await startAuthorizationServer(await freePort());
  const probe = start(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/servers/probe.ts', '--http', '0'],
    {},
    repoRoot,
  );
  const [, backendUrl = ''] = await waitForOutput(probe, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
  const config = writeTempFile('mcp.json', {
    mcpServers: { remote: { url: backendUrl, transport: 'streamable-http' } },
  });
  const keyFile = writeTempFile('session.key', `${Buffer.from('k'.repeat(32)).toString('base64')}\n`);
  const port = await freePort();
  audience = `http://127.0.0.1:${port}/mcp`;
  const oauth = [
    '--oauth-issuer',
    as.issuer,
    '--oauth-audience',
    audience,
    '--oauth-scopes',
    'mcp:tools',
    '--oauth-clock-tolerance-sec',
    '0',
    // So the rotation test needs no wait: an unknown kid refetches the key set at once.
    '--oauth-jwks-cooldown-ms',
    '0',
    '--session-key-file',
    keyFile,
  ];
  // Two replicas behind one canonical URL: the second has never seen the first's sessions.
  [proxy, replica] = await Promise.all([
    startHttpProxy(config, [...oauth, '--port', String(port)]),
    startHttpProxy(config, oauth),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
  await Promise.all([as?.close(), stranger?.close()]);
});

describe('OAuth on the MCP endpoint', () => {
  it('publishes RFC 9728 metadata, bare and path-suffixed for /mcp', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const response = await fetch(`${proxy.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        resource: audience,
        authorization_servers: [as.issuer],
        scopes_supported: ['mcp:tools'],
      });
    }
  });

  it('answers a request without a token with 401 and where to find the metadata, on every MCP route', async () => {
    const metadata = `resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp"`;
    const mcp = await post(`${proxy.url}/mcp`, undefined, INITIALIZE);
    expect(mcp.status).toBe(401);
    expect(challenge(mcp)).toContain(`Bearer ${metadata}`);
    expect(challenge(mcp)).not.toContain('error=');
    const sse = await fetch(`${proxy.url}/sse`, { headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(401);
    expect(challenge(sse)).toContain(metadata);
    const messages = await post(`${proxy.url}/messages?sessionId=x`, undefined, INITIALIZE);
    expect(messages.status).toBe(401);
    // The admin API is not OAuth-protected: it keeps its own (loopback / admin token) rule.
    expect((await fetch(`${proxy.url}/mcp_servers`)).status).toBe(200);
  });

  it('serves a v1 SDK client with a valid token, and never passes the token to a backend', async () => {
    const token = await as.token('alice', audience, { scope: 'mcp:tools' });
    const client = await connect(proxy.url, token);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('remote__pid');
    await client.callTool({ name: 'remote__pid', arguments: {} });
    const seen = await client.callTool({ name: 'remote__seen', arguments: {} });
    const { requests } = seen.structuredContent as { requests: { headers: Record<string, string> }[] };
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const { headers } of requests) expect(headers['authorization']).toBeUndefined();
    expect(JSON.stringify(requests)).not.toContain(token);
  });

  it('serves a 2026-07-28 (stateless) v2 SDK client with a valid token, and refuses it without one', async () => {
    const token = await as.token('alice', audience, { scope: 'mcp:tools' });
    const modern = async (headers: Record<string, string>): Promise<ClientV2> => {
      const client = new ClientV2(
        { name: 'oauth-modern', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      await client.connect(new HttpV2(new URL(`${proxy.url}/mcp`), { requestInit: { headers } }));
      return client;
    };
    const client = await modern({ Authorization: `Bearer ${token}` });
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('remote__pid');
    } finally {
      await client.close();
    }
    await expect(modern({}).then((c) => c.listTools())).rejects.toThrow();
  });

  it('serves a legacy SSE client with a valid token', async () => {
    const token = await as.token('alice', audience, { scope: 'mcp:tools' });
    const client = new Client({ name: 'oauth-sse', version: '1.0.0' });
    clients.push(client);
    await client.connect(
      new SSEClientTransport(new URL(`${proxy.url}/sse`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
        eventSourceInit: {
          fetch: (url, init) =>
            fetch(url, { ...init, headers: { ...init?.headers, Authorization: `Bearer ${token}` } }),
        },
      }),
    );
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('refuses an expired token with invalid_token', async () => {
    const token = await as.token('alice', audience, { scope: 'mcp:tools', ttlSec: 2 });
    const exp = (
      JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }
    ).exp;
    // Valid first (and so cached as verified), refused once exp has passed: the cache ends at exp too.
    // (exp is in whole seconds from a truncated iat: 2 s leaves at least 1 s of validity.)
    expect((await post(`${proxy.url}/mcp`, token, INITIALIZE)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now() + 50)));
    const response = await post(`${proxy.url}/mcp`, token, INITIALIZE);
    expect(response.status).toBe(401);
    expect(challenge(response)).toContain('error="invalid_token"');
    expect(JSON.stringify(await response.json())).toContain('expired');
  });

  it('refuses a token issued for another audience', async () => {
    const token = await as.token('alice', 'http://127.0.0.1:1/mcp', { scope: 'mcp:tools' });
    const response = await post(`${proxy.url}/mcp`, token, INITIALIZE);
    expect(response.status).toBe(401);
    expect(challenge(response)).toContain('error="invalid_token"');
    expect(JSON.stringify(await response.json())).toContain(`aud must be ${audience}`);
  });

  it('refuses a token from an issuer it was not told to trust', async () => {
    const token = await stranger.token('alice', audience, { scope: 'mcp:tools' });
    const response = await post(`${proxy.url}/mcp`, token, INITIALIZE);
    expect(response.status).toBe(401);
    expect(JSON.stringify(await response.json())).toContain(stranger.issuer);
  });

  it('refuses a token without the required scope with 403 insufficient_scope naming it', async () => {
    const token = await as.token('alice', audience, { scope: 'mcp:other' });
    const response = await post(`${proxy.url}/mcp`, token, INITIALIZE);
    expect(response.status).toBe(403);
    expect(challenge(response)).toContain('error="insufficient_scope"');
    expect(challenge(response)).toContain('scope="mcp:tools"');
    expect(JSON.stringify(await response.json())).toContain('mcp:tools');
  });

  it('accepts a token signed with a rotated key (new kid: the key set is fetched again)', async () => {
    // The proxy has the key set cached from the tests above; the new kid is not in it.
    expect(
      (await post(`${proxy.url}/mcp`, await as.token('alice', audience, { scope: 'mcp:tools' }), INITIALIZE))
        .status,
    ).toBe(200);
    const kid = await as.rotate();
    const token = await as.token('alice', audience, { scope: 'mcp:tools' });
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString())).toMatchObject({ kid });
    const client = await connect(proxy.url, token);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('refuses a stolen session id presented with another subject’s token, on the replica that opened it and on another', async () => {
    const alice = await as.token('alice', audience, { scope: 'mcp:tools' });
    const bob = await as.token('bob', audience, { scope: 'mcp:tools' });
    const opened = await post(`${proxy.url}/mcp`, alice, INITIALIZE);
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get('mcp-session-id') ?? '';
    expect(sessionId).not.toBe('');
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
    for (const url of [proxy.url, replica.url]) {
      const stolen = await post(`${url}/mcp`, bob, list, headers);
      expect(stolen.status).toBe(404);
      expect(JSON.stringify(await stolen.json())).toContain('Session not found');
    }
    // Its owner still uses it, on either replica (the sealed id carries who it belongs to).
    for (const url of [proxy.url, replica.url]) {
      const own = await post(`${url}/mcp`, alice, list, headers);
      expect(own.status).toBe(200);
      expect(await own.text()).toContain('remote__pid');
    }
  });

  it('refuses a legacy SSE session id posted with another subject’s token', async () => {
    const alice = await as.token('alice', audience, { scope: 'mcp:tools' });
    const bob = await as.token('bob', audience, { scope: 'mcp:tools' });
    const stream = new AbortController();
    try {
      const response = await fetch(`${proxy.url}/sse`, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${alice}` },
        signal: stream.signal,
      });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>)
        .pipeThrough(new TextDecoderStream())
        .getReader();
      let text = '';
      let endpoint: RegExpExecArray | null = null;
      while (!(endpoint = /data: (\/messages\?sessionId=[^\n]+)/.exec(text))) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before its endpoint event: ${text}`);
        text += value;
      }
      const messages = `${proxy.url}${endpoint[1]}`;
      const stolen = await post(messages, bob, INITIALIZE);
      expect(stolen.status).toBe(404);
      expect(JSON.stringify(await stolen.json())).toContain('Session not found');
      expect((await post(messages, alice, INITIALIZE)).status).toBe(202);
    } finally {
      stream.abort();
    }
  });
});

describe('several issuers, and one key set for all of them (--oauth-jwks-url)', () => {
  // Two more proxies against the same authorization servers: one trusting `as` and `stranger`,
  // each through its own metadata; one trusting both but told to take every key from `as`'s JWKS.
  let third: AuthorizationServer;
  let twoIssuers: RunningProxy;
  let oneKeySet: RunningProxy;
  let asJwks: string;
  const twoAudience = 'https://two-issuers.example/mcp';
  const jwksAudience = 'https://one-key-set.example/mcp';

  beforeAll(async () => {
    third = await startAuthorizationServer(await freePort());
    const discovery = (await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    asJwks = discovery.jwks_uri;
    const config = writeTempFile('mcp.json', { mcpServers: {} });
    const trust = [
      '--oauth-issuer',
      as.issuer,
      '--oauth-issuer',
      stranger.issuer,
      '--oauth-scopes',
      'mcp:tools',
    ];
    [twoIssuers, oneKeySet] = await Promise.all([
      startHttpProxy(config, [...trust, '--oauth-audience', twoAudience]),
      startHttpProxy(config, [...trust, '--oauth-audience', jwksAudience, '--oauth-jwks-url', asJwks]),
    ]);
  }, 60_000);

  afterAll(async () => {
    await third?.close();
  });

  it('accepts a token from each trusted issuer and refuses a third issuer’s, naming it', async () => {
    for (const server of [as, stranger]) {
      const token = await server.token('alice', twoAudience, { scope: 'mcp:tools' });
      expect((await post(`${twoIssuers.url}/mcp`, token, INITIALIZE)).status, server.issuer).toBe(200);
    }
    const foreign = await third.token('alice', twoAudience, { scope: 'mcp:tools' });
    const refused = await post(`${twoIssuers.url}/mcp`, foreign, INITIALIZE);
    expect(refused.status).toBe(401);
    expect(challenge(refused)).toContain('error="invalid_token"');
    expect(JSON.stringify(await refused.json())).toContain(
      `${third.issuer}\\" is not one this endpoint accepts`,
    );
  });

  it('keeps the same subject name from two issuers apart: one’s session is not the other’s', async () => {
    const mine = await as.token('alice', twoAudience, { scope: 'mcp:tools' });
    const namesake = await stranger.token('alice', twoAudience, { scope: 'mcp:tools' });
    const opened = await post(`${twoIssuers.url}/mcp`, mine, INITIALIZE);
    const headers = {
      'mcp-session-id': opened.headers.get('mcp-session-id') ?? '',
      'mcp-protocol-version': '2025-06-18',
    };
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    expect((await post(`${twoIssuers.url}/mcp`, namesake, list, headers)).status).toBe(404);
    expect((await post(`${twoIssuers.url}/mcp`, mine, list, headers)).status).toBe(200);
  });

  it('verifies tokens against the --oauth-jwks-url key set, and refuses one signed by a key outside it', async () => {
    const token = await as.token('bob', jwksAudience, { scope: 'mcp:tools' });
    expect((await post(`${oneKeySet.url}/mcp`, token, INITIALIZE)).status).toBe(200);

    // A trusted issuer whose own keys are not in that set: its metadata is not consulted.
    const outside = await stranger.token('bob', jwksAudience, { scope: 'mcp:tools' });
    const refused = await post(`${oneKeySet.url}/mcp`, outside, INITIALIZE);
    expect(refused.status).toBe(401);
    expect(challenge(refused)).toContain('error="invalid_token"');
    expect(JSON.stringify(await refused.json())).toMatch(/signature is invalid|no key of the issuer matches/);

    // A forged token with every claim right, signed by a key no one published.
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ scope: 'mcp:tools' })
      .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
      .setIssuer(as.issuer)
      .setAudience(jwksAudience)
      .setSubject('bob')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const unknownKey = await post(`${oneKeySet.url}/mcp`, forged, INITIALIZE);
    expect(unknownKey.status).toBe(401);
    expect(JSON.stringify(await unknownKey.json())).toContain("no key of the issuer matches the token's kid");
  });
});
