import { describe, expect, it } from 'vitest';
import { backendMeta, listHints } from './era.js';

const PV = 'io.modelcontextprotocol/protocolVersion';
const CAPS = 'io.modelcontextprotocol/clientCapabilities';
const INFO = 'io.modelcontextprotocol/clientInfo';
const LEVEL = 'io.modelcontextprotocol/logLevel';
const proxyInfo = { name: 'multi-mcp', version: '1.0.0' };
// What a 2026-07-28 client sent the proxy: its hop, not the proxy's hop to a backend.
const clientMeta = {
  [PV]: '2026-07-28',
  [CAPS]: { sampling: {} },
  [INFO]: { name: 'c', version: '1' },
  trace: 't',
};

describe('backendMeta', () => {
  it('gives a 2025-era backend none of the client envelope, only its other _meta', () => {
    expect(backendMeta(clientMeta, 'legacy', '2025-11-25', proxyInfo, undefined)).toEqual({ trace: 't' });
    expect(backendMeta({ [PV]: '2026-07-28' }, 'legacy', '2025-11-25', proxyInfo, undefined)).toBeUndefined();
  });

  it("gives a modern backend the proxy's version and identity with the caller's capabilities and level", () => {
    const meta = backendMeta(clientMeta, 'modern', '2026-07-28', proxyInfo, {
      capabilities: { elicitation: {} },
      logLevel: 'info',
    });
    expect(meta).toEqual({
      trace: 't',
      [PV]: '2026-07-28',
      [INFO]: proxyInfo,
      [CAPS]: { elicitation: {} },
      [LEVEL]: 'info',
    });
  });
});

describe('listHints', () => {
  it('reads ttlMs and cacheScope, ignoring what is not valid', () => {
    expect(listHints({ ttlMs: 5000, cacheScope: 'private' })).toEqual({ ttlMs: 5000, scope: 'private' });
    expect(listHints({ ttlMs: -1, cacheScope: 'everyone' })).toEqual({ ttlMs: undefined, scope: undefined });
  });
});
