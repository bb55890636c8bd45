import type {
  ClientCapabilities,
  Implementation,
  JSONRPCMessage,
  LoggingLevel,
  Transport,
} from '@modelcontextprotocol/client';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from '@modelcontextprotocol/client';

/**
 * The two protocol eras a backend may speak (see notes/mcp-protocol.md): `legacy` is the
 * session-based 2025-11-25 and older, negotiated with `initialize`; `modern` is 2026-07-28,
 * found with `server/discover`, where every request carries the client's identity and
 * capabilities in `_meta`.
 */
export type BackendEra = 'legacy' | 'modern';

/** What the proxy's client of a backend declares when no calling client's capabilities apply. */
export const PROXY_CLIENT_CAPABILITIES: ClientCapabilities = {
  roots: { listChanged: true },
  sampling: {},
  elicitation: {},
};

/**
 * The calling client, as a modern backend must see it on a relayed request: the backend asks
 * (input_required) only for what this client declared, and logs only at the level it chose.
 */
export interface CallerEnvelope {
  capabilities?: ClientCapabilities;
  logLevel?: LoggingLevel;
}

const RESERVED = [
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
] as const;

/**
 * The `_meta` a relayed request goes out with. A client's own envelope keys describe its hop to
 * the proxy, never the proxy's hop to a backend: they are dropped, and for a modern backend
 * replaced by the proxy's (its version and identity, the caller's capabilities and log level).
 * A legacy backend gets none (over HTTP an envelope would also turn on 2026-era headers).
 */
export function backendMeta(
  meta: Record<string, unknown> | undefined,
  era: BackendEra,
  protocolVersion: string | undefined,
  clientInfo: Implementation,
  caller: CallerEnvelope | undefined,
): Record<string, unknown> | undefined {
  let own = meta;
  if (meta && RESERVED.some((key) => key in meta)) {
    own = { ...meta };
    for (const key of RESERVED) delete own[key];
  }
  if (era === 'legacy' || protocolVersion === undefined) {
    return own && Object.keys(own).length > 0 ? own : undefined;
  }
  return {
    ...own,
    [PROTOCOL_VERSION_META_KEY]: protocolVersion,
    [CLIENT_INFO_META_KEY]: clientInfo,
    [CLIENT_CAPABILITIES_META_KEY]: caller?.capabilities ?? PROXY_CLIENT_CAPABILITIES,
    ...(caller?.logLevel !== undefined && { [LOG_LEVEL_META_KEY]: caller.logLevel }),
  };
}

/** How a backend's list may be reused (SEP-2549): `private` lists are fetched per client. */
export interface ListHints {
  ttlMs: number | undefined;
  scope: 'public' | 'private' | undefined;
}

export function listHints(result: unknown): ListHints {
  const { ttlMs, cacheScope } = (result ?? {}) as { ttlMs?: unknown; cacheScope?: unknown };
  return {
    ttlMs: typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs >= 0 ? ttlMs : undefined,
    scope: cacheScope === 'public' || cacheScope === 'private' ? cacheScope : undefined,
  };
}

/**
 * The transport of a twin (the 2025-era connection to a modern server, backend.ts): its
 * `initialize` also carries the envelope a 2026-07-28 server requires on every request (the
 * offered 2025 version, the proxy's identity and capabilities) and the `MCP-Protocol-Version`
 * header. A server of both eras reads it as the 2025-era handshake it is (extra `_meta` is
 * ignored there); a 2026-only server sees no request without the envelope (the conformance
 * suite's `request-metadata` checks every request it gets).
 */
export function envelopedInitialize(transport: Transport, clientInfo: Implementation): Transport {
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage, options) => {
    if (!('method' in message) || message.method !== 'initialize' || !('id' in message)) {
      return send(message, options);
    }
    const params = (message.params ?? {}) as Record<string, unknown>;
    const version = typeof params['protocolVersion'] === 'string' ? params['protocolVersion'] : undefined;
    if (version !== undefined) transport.setProtocolVersion?.(version);
    const meta = {
      ...(params['_meta'] as Record<string, unknown> | undefined),
      ...(version !== undefined && { [PROTOCOL_VERSION_META_KEY]: version }),
      [CLIENT_INFO_META_KEY]: clientInfo,
      [CLIENT_CAPABILITIES_META_KEY]: params['capabilities'] ?? PROXY_CLIENT_CAPABILITIES,
    };
    return send({ ...message, params: { ...params, _meta: meta } }, options);
  };
  return transport;
}
