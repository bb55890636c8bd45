import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { backendMeta, envelopedInitialize, listHints } from './era.js';

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

describe('envelopedInitialize', () => {
  /** A transport that records what it was given to send and the version it was told. */
  const recording = () => {
    const sent: JSONRPCMessage[] = [];
    const versions: string[] = [];
    const transport: Transport = {
      start: async () => {},
      close: async () => {},
      send: async (message) => void sent.push(message),
      setProtocolVersion: (version) => void versions.push(version),
    };
    return { transport: envelopedInitialize(transport, proxyInfo), sent, versions };
  };

  it('gives the twin’s initialize the envelope and the header of the version it offers', async () => {
    const { transport, sent, versions } = recording();
    const capabilities = { roots: { listChanged: true } };
    await transport.send({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities, clientInfo: proxyInfo, _meta: { trace: 't' } },
    });
    expect(versions).toEqual(['2025-11-25']);
    expect(sent[0]).toMatchObject({
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        _meta: { trace: 't', [PV]: '2025-11-25', [INFO]: proxyInfo, [CAPS]: capabilities },
      },
    });
  });

  it('leaves every other message as it was', async () => {
    const { transport, sent, versions } = recording();
    const list: JSONRPCMessage = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    const initialized: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/initialized' };
    await transport.send(list);
    await transport.send(initialized);
    expect(sent).toEqual([list, initialized]);
    expect(versions).toEqual([]);
  });
});
