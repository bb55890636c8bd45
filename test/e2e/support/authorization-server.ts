import type { Server } from 'node:http';
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OAuth 2.1 authorization server (oidc-provider) on loopback, issuing JWT access tokens
 * (RFC 9068) for a resource indicator (RFC 8707) through the client_credentials grant. Each
 * client id is its own subject. `rotate()` restarts it on the same port signing with a new key,
 * the old one still published, as a real rotation does.
 */
export interface AuthorizationServer {
  issuer: string;
  /** A token for `resource`, carrying `scope` (none when empty), valid for `ttlSec`. */
  token(client: string, resource: string, options?: { scope?: string; ttlSec?: number }): Promise<string>;
  /** Restarts signing with a new key (new kid); returns that kid. */
  rotate(): Promise<string>;
  close(): Promise<void>;
}

export const CLIENTS = ['alice', 'bob'] as const;
export const SCOPES = ['mcp:tools', 'mcp:other'];

async function signingKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

export async function startAuthorizationServer(port: number): Promise<AuthorizationServer> {
  const issuer = `http://127.0.0.1:${port}`;
  const ttl = { sec: 60 };
  let keys = [await signingKey('key-1')];
  let server: Server;

  const listen = async (): Promise<void> => {
    const provider = new Provider(issuer, {
      clients: CLIENTS.map((id) => ({
        client_id: id,
        client_secret: `${id}-secret`,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
      })),
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined as unknown as string,
          getResourceServerInfo: (_ctx, resource) => ({
            scope: SCOPES.join(' '),
            audience: resource,
            accessTokenTTL: ttl.sec,
            accessTokenFormat: 'jwt',
          }),
          useGrantedResource: () => true,
        },
      },
      jwks: { keys },
      scopes: SCOPES,
      ttl: { ClientCredentials: () => ttl.sec },
    });
    // No keep-alive: after a rotation's restart no client may reuse a socket of the old server.
    provider.use(async (ctx, next) => {
      ctx.set('Connection', 'close');
      await next();
    });
    server = provider.listen(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  };
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen();

  return {
    issuer,
    async token(client, resource, options = {}) {
      ttl.sec = options.ttlSec ?? 60;
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client,
          client_secret: `${client}-secret`,
          resource,
          ...(options.scope ? { scope: options.scope } : {}),
        }),
      });
      const body = (await response.json()) as { access_token?: string };
      if (!response.ok || !body.access_token)
        throw new Error(`token: ${response.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async rotate() {
      const kid = `key-${keys.length + 1}`;
      // The first key signs; the previous ones stay published for tokens already out there.
      keys = [await signingKey(kid), ...keys];
      await close();
      await listen();
      return kid;
    },
    close,
  };
}
