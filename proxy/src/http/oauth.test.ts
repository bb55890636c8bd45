import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK, JWTPayload } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import type { ResourceServer } from './oauth.js';
import { createResourceServer, metadataUrlFor, OAuthSettingsSchema } from './oauth.js';

// The verifier against a real HTTP issuer: RFC 8414 metadata under a path-suffixed issuer, a
// JWKS endpoint, and tokens signed with jose. (The end-to-end suite uses oidc-provider.)

const AUDIENCE = 'https://mcp.example.com/mcp';
let server: Server;
let base: string;
let issuer: string;
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let publicJwk: JWK;
let metadataIssuer: string | undefined;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/oauth-authorization-server/tenant') {
      res.end(JSON.stringify({ issuer: metadataIssuer ?? issuer, jwks_uri: `${base}/keys` }));
    } else if (req.url === '/keys') {
      res.end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${base}/tenant`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function sign(claims: JWTPayload, options: { sub?: string | null; exp?: number; nbf?: number } = {}) {
  const jwt = new SignJWT({ scope: 'mcp:tools', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m');
  if (options.sub !== null) jwt.setSubject(options.sub ?? 'alice');
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(privateKey);
}

function resourceServer(scopes: string[] = ['mcp:tools']): ResourceServer {
  return createResourceServer({ issuers: [issuer], audience: AUDIENCE, scopes }, silentLogger);
}

describe('metadataUrlFor', () => {
  it('inserts the well-known segment between origin and path (RFC 9728 §3.1)', () => {
    expect(metadataUrlFor('https://mcp.example.com/mcp')).toBe(
      'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
    );
    expect(metadataUrlFor('https://mcp.example.com/')).toBe(
      'https://mcp.example.com/.well-known/oauth-protected-resource',
    );
  });
});

describe('virtual server metadata', () => {
  const at = (audience: string) =>
    createResourceServer(
      { issuers: ['https://as.example.com'], audience, scopes: ['mcp:base'] },
      silentLogger,
    );

  it('puts a view under the /mcp audience, whatever prefix a gateway in front adds', () => {
    expect(at('https://gw.example.com/mcp').viewMetadataUrl('team a')).toBe(
      'https://gw.example.com/.well-known/oauth-protected-resource/mcp/team%20a',
    );
    const prefixed = at('https://example.com/tools/mcp/');
    expect(prefixed.viewMetadataUrl('x')).toBe(
      'https://example.com/.well-known/oauth-protected-resource/tools/mcp/x',
    );
    expect(prefixed.viewMetadataRoute).toBe('/.well-known/oauth-protected-resource/tools/mcp/:name');
    // An audience that is not the /mcp endpoint itself: views are still served at /mcp/<name>.
    expect(at('https://example.com/').viewMetadataUrl('x')).toBe(
      'https://example.com/.well-known/oauth-protected-resource/mcp/x',
    );
  });

  it('lists the endpoint’s scopes and the view’s, once each', () => {
    expect(at('https://gw.example.com/mcp').metadataWith(['mcp:team', 'mcp:base'])).toEqual({
      resource: 'https://gw.example.com/mcp',
      authorization_servers: ['https://as.example.com'],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp:base', 'mcp:team'],
    });
  });
});

describe('OAuthSettingsSchema', () => {
  it('names the flag of a value that is not an absolute URL', () => {
    const parsed = OAuthSettingsSchema.safeParse({ issuers: ['issuer.example'], audience: AUDIENCE });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('--oauth-issuer');
  });
});

describe('createResourceServer', () => {
  it('discovers the keys of a path-suffixed issuer and admits its subject', async () => {
    const verdict = await resourceServer().verify(`Bearer ${await sign({})}`);
    expect(verdict).toMatchObject({ ok: true, principal: { issuer, subject: 'alice' } });
  });

  it('reads scopes from scp arrays as well as the scope string', async () => {
    const verdict = await resourceServer(['a', 'b']).verify(
      `Bearer ${await sign({ scope: undefined, scp: ['a', 'b'] })}`,
    );
    expect(verdict.ok).toBe(true);
  });

  it('refuses tokens without a subject, not yet valid, or with a tampered signature', async () => {
    const rs = resourceServer();
    const noSub = await rs.verify(`Bearer ${await sign({}, { sub: null })}`);
    expect(noSub).toMatchObject({ ok: false, status: 401 });
    const early = await rs.verify(`Bearer ${await sign({}, { nbf: Math.floor(Date.now() / 1000) + 600 })}`);
    expect(early).toMatchObject({ ok: false, message: expect.stringContaining('nbf') });
    const [header, payload] = (await sign({})).split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), sub: 'mallory' }),
    ).toString('base64url');
    const tampered = await rs.verify(`Bearer ${header}.${forged}.${(await sign({})).split('.')[2]}`);
    expect(tampered).toMatchObject({
      ok: false,
      status: 401,
      challenge: expect.stringContaining('invalid_token'),
    });
  });

  it('does not trust issuer metadata that names another issuer (mix-up)', async () => {
    metadataIssuer = 'https://evil.example';
    try {
      const verdict = await resourceServer().verify(`Bearer ${await sign({})}`);
      expect(verdict).toMatchObject({ ok: false, message: expect.stringContaining('evil.example') });
    } finally {
      metadataIssuer = undefined;
    }
  });

  it('answers 503, not 401, when the issuer publishes no metadata, and says to set --oauth-jwks-url', async () => {
    const elsewhere = `${base}/other`;
    const rs = createResourceServer({ issuers: [elsewhere], audience: AUDIENCE }, silentLogger);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(elsewhere)
      .setAudience(AUDIENCE)
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(privateKey);
    const verdict = await rs.verify(`Bearer ${token}`);
    expect(verdict).toMatchObject({
      ok: false,
      status: 503,
      message: expect.stringContaining('--oauth-jwks-url'),
    });
  });

  it('answers a bad Authorization header with invalid_request and a missing one with no error code', async () => {
    const rs = resourceServer();
    const missing = await rs.verify(undefined);
    expect(missing).toMatchObject({ ok: false, status: 401 });
    expect(missing.ok || missing.challenge).toBe(`Bearer resource_metadata="${metadataUrlFor(AUDIENCE)}"`);
    const basic = await rs.verify('Basic dXNlcjpwYXNz');
    expect(basic).toMatchObject({ ok: false, challenge: expect.stringContaining('invalid_request') });
  });
});
