import type { IncomingMessage } from 'node:http';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { createClassifier } from './classify.js';

type Req = IncomingMessage & { body?: unknown };

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': { sampling: {} },
};
const MODERN_HEADERS = {
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': 'tools/call',
  'mcp-name': 'echo',
};

function request(body: unknown, headers: Record<string, string> = MODERN_HEADERS, method = 'POST'): Req {
  return { method, headers, body } as unknown as Req;
}

const call = (id: number | string, meta: Record<string, unknown> = ENVELOPE, extra: object = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'echo', arguments: { message: 'hi' }, _meta: meta },
  ...extra,
});

/** What the SDK says of the request, built the way the proxy always built it. */
function sdk(req: Req) {
  if (req.method === 'POST' && req.body === undefined) return 'no-body';
  const h = req.headers as Record<string, string | undefined>;
  return classifyInboundRequest({
    httpMethod: req.method ?? 'GET',
    ...(h['mcp-protocol-version'] !== undefined && { protocolVersionHeader: h['mcp-protocol-version'] }),
    ...(h['mcp-method'] !== undefined && { mcpMethodHeader: h['mcp-method'] }),
    ...(h['mcp-name'] !== undefined && { mcpNameHeader: h['mcp-name'] }),
    ...(req.method === 'POST' && { body: req.body }),
  });
}

const CORPUS: [string, () => Req][] = [
  ['a 2026-07-28 call', () => request(call(1))],
  ['the same envelope, another id and arguments', () => request(call('x-2'))],
  [
    'a log level in the envelope',
    () => request(call(3, { ...ENVELOPE, 'io.modelcontextprotocol/logLevel': 'debug' })),
  ],
  [
    'client info that is not an Implementation',
    () => request(call(4, { ...ENVELOPE, 'io.modelcontextprotocol/clientInfo': { name: 7 } })),
  ],
  [
    'no client capabilities',
    () =>
      request(
        call(5, {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
        }),
      ),
  ],
  [
    'a version header that is not the envelope’s',
    () => request(call(6), { ...MODERN_HEADERS, 'mcp-protocol-version': '2025-11-25' }),
  ],
  ['no version header', () => request(call(7), { 'mcp-method': 'tools/call', 'mcp-name': 'echo' })],
  [
    'Mcp-Method naming another method',
    () => request(call(8), { ...MODERN_HEADERS, 'mcp-method': 'prompts/get' }),
  ],
  ['a progress token of the wrong type', () => request(call(9, { ...ENVELOPE, progressToken: true }))],
  ['a progress token', () => request(call(10, { ...ENVELOPE, progressToken: 'p' }))],
  ['a member JSON-RPC does not have', () => request(call(11, ENVELOPE, { extra: 1 }))],
  ['a fractional id', () => request(call(1.5))],
  ['a result posted as a request', () => request({ jsonrpc: '2.0', id: 12, result: {} })],
  ['a batch', () => request([call(13)])],
  [
    'a notification with the envelope',
    () =>
      request(
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: ENVELOPE } },
        { ...MODERN_HEADERS, 'mcp-method': 'notifications/cancelled' },
      ),
  ],
  [
    'a 2025-era request (no envelope)',
    () => request({ jsonrpc: '2.0', id: 14, method: 'tools/call', params: { name: 'echo' } }, {}),
  ],
  [
    'initialize with a modern envelope',
    () =>
      request(
        { jsonrpc: '2.0', id: 15, method: 'initialize', params: { _meta: ENVELOPE } },
        { ...MODERN_HEADERS, 'mcp-method': 'initialize' },
      ),
  ],
  ['a POST without a JSON body', () => request(undefined, {})],
  ['a GET', () => request(undefined, {}, 'GET')],
];

describe('the classifier', () => {
  it('answers every request of the corpus as the SDK does, first and again from memory', () => {
    const classify = createClassifier();
    for (const [name, make] of CORPUS) {
      for (let round = 0; round < 2; round++) {
        const req = make();
        expect({ name, round, outcome: classify(req) }).toEqual({ name, round, outcome: sdk(req) });
      }
    }
  });

  it('classifies a request with a known envelope from memory, the same classification as the first', () => {
    const classify = createClassifier();
    const first = classify(request(call(1)));
    const second = classify(request(call(2)));
    if (first === 'no-body' || second === 'no-body' || first.kind !== 'modern' || second.kind !== 'modern')
      throw new Error('both are 2026-07-28 requests');
    // The SDK builds a new classification for every request: one shared object is the remembered one.
    expect(second.classification).toBe(first.classification);
    expect(second.message).toEqual(call(2));
    // An envelope it has not seen valid is the SDK's to judge, every time.
    const bad = request(call(3, { ...ENVELOPE, 'io.modelcontextprotocol/clientInfo': { name: 7 } }));
    expect(classify(bad)).toEqual(sdk(bad));
    expect(classify(bad)).not.toHaveProperty('classification');
  });
});
