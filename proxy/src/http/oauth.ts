import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import { requestId, RpcCode, sendRpcError } from './respond.js';

/**
 * The MCP endpoint as an OAuth 2.1 resource server: every MCP request carries a bearer JWT
 * issued by one of the configured authorization servers for this endpoint (RFC 8707 audience),
 * checked against the issuer's published keys. Tokens are only ever read here: the relay builds
 * its own requests to backends, so a client's token never travels further.
 */

const absoluteUrl = (field: string) =>
  z
    .string()
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
      message: `${field}: must be an absolute http(s) URL`,
    })
    .refine((value) => !value.includes('#'), { message: `${field}: must not carry a #fragment` });

export const OAuthSettingsSchema = z.object({
  /** `--oauth-issuer`: accepted `iss` values, each an authorization server's issuer identifier. */
  issuers: z.array(absoluteUrl('--oauth-issuer')).min(1, '--oauth-issuer: at least one issuer is required'),
  /** `--oauth-audience`: this endpoint's canonical URI; tokens must name it in `aud`. */
  audience: absoluteUrl('--oauth-audience'),
  /** `--oauth-jwks-url`: the keys of every issuer, instead of discovering each issuer's `jwks_uri`. */
  jwksUrl: absoluteUrl('--oauth-jwks-url').optional(),
  /** `--oauth-scopes`: scopes every request's token must carry. */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope token')).default([]),
  /** Leeway for `exp`/`nbf` against clock skew between the issuer and us. */
  clockToleranceSec: z.number().int().min(0).max(300).default(5),
  /** How long after a JWKS fetch an unknown key id does not trigger another one (jose's cooldown). */
  jwksCooldownMs: z.number().int().min(0).default(30_000),
});
export type OAuthSettings = z.input<typeof OAuthSettingsSchema>;

/** Who a verified token speaks for: sessions are bound to this, never to the token itself. */
export interface Principal {
  issuer: string;
  subject: string;
  /** `issuer` and `subject` in one comparable string (neither can contain a newline unescaped). */
  key: string;
  /** The token's scopes (`scope` and `scp`) and claims: what a virtual server's requirements are checked against. */
  scopes: ReadonlySet<string>;
  claims: Readonly<JWTPayload>;
}

export type Verdict =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403 | 503; challenge: string; message: string };

export interface ResourceServer {
  /** Where clients find the RFC 9728 metadata (path-suffixed form of the audience). */
  metadataUrl: string;
  metadata: Record<string, unknown>;
  /**
   * The metadata of an endpoint that asks for `scopes` beyond `--oauth-scopes` (a virtual
   * server, or the whole catalog with `--oauth-catalog-scopes`): the same resource and issuers,
   * `scopes_supported` naming every scope a token needs there.
   */
  metadataWith(scopes: readonly string[]): Record<string, unknown>;
  /** The path-suffixed metadata URL of the virtual server `name` (its endpoint is `/mcp/<name>`). */
  viewMetadataUrl(name: string): string;
  /** The route (Express pattern, `:name`) `viewMetadataUrl` points at, besides `/.well-known/oauth-protected-resource/mcp/:name`. */
  viewMetadataRoute: string;
  /** Checks a request's Authorization header; a refusal's challenge names `metadataUrl` (default: the endpoint's). */
  verify(authorization: string | undefined, metadataUrl?: string): Promise<Verdict>;
  /** The 403 for a token without `required` (RFC 6750 §3.1 `insufficient_scope`, naming the scopes). */
  insufficientScope(
    required: readonly string[],
    missing: readonly string[],
    metadataUrl?: string,
  ): { challenge: string; message: string };
}

/** Verified tokens are remembered briefly by their hash so the hot path skips signature checks. */
const CACHE_MAX_ENTRIES = 10_000;
const CACHE_MAX_MS = 60_000;
const DISCOVERY_TIMEOUT_MS = 5_000;

/** RFC 9728 §3.1: the well-known segment goes between the origin and the resource's path. */
export function metadataUrlFor(audience: string): string {
  const url = new URL(audience);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

/** RFC 8414 first (path inserted after the well-known segment), then OpenID Connect Discovery. */
function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
  ];
}

const IssuerMetadataSchema = z.object({ issuer: z.string(), jwks_uri: z.string().url() });

async function discoverJwksUri(issuer: string): Promise<string> {
  const problems: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    try {
      const response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
      });
      if (!response.ok) {
        problems.push(`${url}: HTTP ${response.status}`);
        continue;
      }
      const parsed = IssuerMetadataSchema.safeParse(await response.json());
      if (!parsed.success) {
        problems.push(`${url}: no issuer and jwks_uri in the metadata`);
        continue;
      }
      // RFC 8414 §3.3: metadata naming another issuer must not be used (mix-up protection).
      if (parsed.data.issuer !== issuer) {
        problems.push(`${url}: names issuer ${JSON.stringify(parsed.data.issuer)}`);
        continue;
      }
      return parsed.data.jwks_uri;
    } catch (error) {
      problems.push(`${url}: ${errorMessage(error)}`);
    }
  }
  throw new Error(
    `cannot discover the keys of issuer ${issuer} (${problems.join('; ')}); set --oauth-jwks-url`,
  );
}

function grantedScopes(payload: JWTPayload): Set<string> {
  const granted = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string') {
      for (const s of value.split(' ')) if (s) granted.add(s);
    } else if (Array.isArray(value)) {
      for (const s of value) if (typeof s === 'string') granted.add(s);
    }
  };
  // RFC 9068 `scope`; `scp` is what Entra ID and Okta send.
  add(payload['scope']);
  add(payload['scp']);
  return granted;
}

const quoted = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;

export function createResourceServer(input: OAuthSettings, log: Logger): ResourceServer {
  const settings = OAuthSettingsSchema.parse(input);
  const metadataUrl = metadataUrlFor(settings.audience);
  const issuers = new Set(settings.issuers);
  const challenge = (at: string, error?: string, description?: string): string =>
    [
      `Bearer resource_metadata=${quoted(at)}`,
      ...(error ? [`error=${quoted(error)}`] : []),
      ...(description ? [`error_description=${quoted(description)}`] : []),
    ].join(', ');

  const remote = (url: string): JWTVerifyGetKey =>
    createRemoteJWKSet(new URL(url), { cooldownDuration: settings.jwksCooldownMs });
  const shared = settings.jwksUrl === undefined ? undefined : remote(settings.jwksUrl);
  // Discovery is lazy (the proxy starts while an issuer is down) and retried after a failure.
  const perIssuer = new Map<string, Promise<JWTVerifyGetKey>>();
  const keysOf = (issuer: string): Promise<JWTVerifyGetKey> => {
    if (shared) return Promise.resolve(shared);
    let keys = perIssuer.get(issuer);
    if (!keys) {
      keys = discoverJwksUri(issuer).then(remote);
      keys.catch(() => perIssuer.delete(issuer));
      perIssuer.set(issuer, keys);
    }
    return keys;
  };

  const cache = new Map<string, { principal: Principal; scopes: ReadonlySet<string>; until: number }>();
  const remember = (hash: string, principal: Principal, scopes: ReadonlySet<string>, exp: number): void => {
    if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(hash, { principal, scopes, until: Math.min(exp * 1000, Date.now() + CACHE_MAX_MS) });
  };

  const insufficientScope = (
    required: readonly string[],
    missing: readonly string[],
    at = metadataUrl,
  ): { challenge: string; message: string } => {
    const message = `the access token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')} (required: ${required.join(' ')})`;
    return {
      challenge: `${challenge(at, 'insufficient_scope', message)}, scope=${quoted(required.join(' '))}`,
      message,
    };
  };

  const verify = async (authorization: string | undefined, at = metadataUrl): Promise<Verdict> => {
    const invalid = (message: string): Verdict => ({
      ok: false,
      status: 401,
      challenge: challenge(at, 'invalid_token', message),
      message,
    });
    const checkScopes = (principal: Principal, scopes: ReadonlySet<string>): Verdict => {
      const missing = settings.scopes.filter((s) => !scopes.has(s));
      if (missing.length === 0) return { ok: true, principal };
      return { ok: false, status: 403, ...insufficientScope(settings.scopes, missing, at) };
    };
    const token = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization?.trim() ?? '')?.[1];
    if (token === undefined) {
      const message =
        authorization === undefined
          ? `this MCP endpoint needs "Authorization: Bearer <access token>" from ${settings.issuers.join(' or ')}; see ${at}`
          : 'the Authorization header is not "Bearer <access token>"';
      // RFC 6750 §3.1: a request without credentials gets no error code.
      return {
        ok: false,
        status: 401,
        challenge: authorization === undefined ? challenge(at) : challenge(at, 'invalid_request', message),
        message,
      };
    }
    const hash = createHash('sha256').update(token).digest('base64url');
    const known = cache.get(hash);
    if (known && known.until > Date.now()) return checkScopes(known.principal, known.scopes);
    if (known) cache.delete(hash);

    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return invalid('the access token is not a JWT');
    }
    if (issuer === undefined || !issuers.has(issuer)) {
      return invalid(
        `the access token's issuer ${JSON.stringify(issuer ?? null)} is not one this endpoint accepts`,
      );
    }
    let payload: JWTPayload;
    try {
      const keys = await keysOf(issuer);
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience: settings.audience,
        clockTolerance: settings.clockToleranceSec,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      // The issuer's keys out of reach is not the token's fault: a 401 would send the client
      // into a futile token refresh, a 503 says to come back.
      if (!(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout) {
        const message = `the access token cannot be checked now: ${errorMessage(error)}`;
        log.warn('access token not checked: issuer keys unavailable', { issuer, [Field.error]: message });
        return { ok: false, status: 503, challenge: '', message };
      }
      return invalid(describeFailure(error, settings.audience));
    }
    const scopes = grantedScopes(payload);
    const principal: Principal = {
      issuer,
      subject: payload.sub as string,
      key: JSON.stringify([issuer, payload.sub]),
      scopes,
      claims: payload,
    };
    remember(hash, principal, scopes, payload.exp as number);
    log.debug('access token verified', { issuer, subject: principal.subject });
    return checkScopes(principal, scopes);
  };

  const metadataWith = (extra: readonly string[]): Record<string, unknown> => {
    const scopes = [...new Set([...settings.scopes, ...extra])];
    return {
      // The resource stays the audience at a virtual server's path too: one resource, one token
      // audience (RFC 8707), which is what MCP clients request tokens for (its path is a prefix).
      resource: settings.audience,
      authorization_servers: settings.issuers,
      bearer_methods_supported: ['header'],
      ...(scopes.length > 0 && { scopes_supported: scopes }),
    };
  };
  // A virtual server's endpoint is /mcp/<name>: under the audience when that is the /mcp endpoint
  // (whatever prefix a gateway in front adds), else at the origin's /mcp.
  const audienceUrl = new URL(settings.audience);
  const audiencePath = audienceUrl.pathname.replace(/\/$/, '');
  const viewBase = audiencePath.endsWith('/mcp') ? audiencePath : '/mcp';
  const viewMetadataBase = `${audienceUrl.origin}/.well-known/oauth-protected-resource${viewBase}`;

  return {
    metadataUrl,
    metadata: metadataWith([]),
    metadataWith,
    viewMetadataUrl: (name) => `${viewMetadataBase}/${encodeURIComponent(name)}`,
    viewMetadataRoute: `${new URL(viewMetadataBase).pathname}/:name`,
    verify,
    insufficientScope,
  };
}

function describeFailure(error: unknown, audience: string): string {
  if (error instanceof joseErrors.JWTExpired) return 'the access token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud')
      return `the access token is not for this endpoint (its aud must be ${audience})`;
    if (error.claim === 'nbf') return 'the access token is not valid yet (nbf)';
    return `the access token's ${error.claim} claim is invalid: ${error.message}`;
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no key of the issuer matches the token's kid";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'the access token signature is invalid';
  return `the access token is invalid: ${errorMessage(error)}`;
}

const PRINCIPAL = 'multiMcpPrincipal';

/** The principal the OAuth guard admitted this request for; undefined without OAuth. */
export function principalOf(res: Response): string | undefined {
  const principal = res.locals[PRINCIPAL] as Principal | undefined;
  return principal?.key;
}

/** The verified token this request came with (its subject, scopes and claims); undefined without OAuth. */
export function tokenOf(res: Response): Principal | undefined {
  return res.locals[PRINCIPAL] as Principal | undefined;
}

/**
 * Refuses MCP requests without a valid token; admits the rest with their principal attached.
 * `metadataUrlOf` names the metadata a refusal points at (a virtual server's own); default the endpoint's.
 */
export function oauthGuard(
  server: ResourceServer,
  log: Logger,
  metadataUrlOf?: (req: Request) => string | undefined,
): RequestHandler {
  return async (req, res, next) => {
    let verdict: Verdict;
    try {
      verdict = await server.verify(req.headers.authorization, metadataUrlOf?.(req));
    } catch (error) {
      verdict = { ok: false, status: 503, challenge: '', message: errorMessage(error) };
    }
    if (verdict.ok) {
      res.locals[PRINCIPAL] = verdict.principal;
      // Stateless (2026-07-28) handlers see the principal as the SDK's authInfo (toNodeHandler
      // passes `req.auth` on): it owns the tasks they create. The token itself stays here.
      (req as { auth?: AuthInfo }).auth = {
        token: '',
        clientId: verdict.principal.subject,
        scopes: [],
        extra: { principal: verdict.principal.key },
      };
      next();
      return;
    }
    // Clients routinely try without a token first: only refused tokens are worth an info line.
    const level = req.headers.authorization === undefined ? 'debug' : 'info';
    log[level]('mcp request refused: access token', {
      status: verdict.status,
      [Field.error]: verdict.message,
    });
    if (verdict.challenge) res.setHeader('WWW-Authenticate', verdict.challenge);
    sendRpcError(res, verdict.status, RpcCode.refused, verdict.message, requestId(req.body));
  };
}

/**
 * RFC 9728 protected resource metadata (public: clients read it before they have a token);
 * `scopes`: what this endpoint asks beyond `--oauth-scopes` (`--oauth-catalog-scopes`).
 */
export function protectedResourceMetadata(
  server: ResourceServer,
  scopes: readonly string[] = [],
): RequestHandler {
  const metadata = server.metadataWith(scopes);
  return (_req, res) => {
    res.setHeader('Cache-Control', 'max-age=300');
    res.json(metadata);
  };
}
