import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendSpec } from '../config/contract.js';
import type { Harness } from './testing.js';
import { fixtureServer, startHarness } from './testing.js';

// The direct answers (direct.ts) against the SDK's own: the same corpus of requests goes to a
// proxy that answers relayed calls directly and to one that sends everything through the SDK
// (`directAnswers: false`), with the same backend, and every answer must be the same JSON text,
// byte for byte, with the same HTTP status. Requests the direct path must not take (malformed,
// mismatched headers, progress tokens, notifications, lists) are in the corpus too: they must
// still get the SDK's answer.

const ACCEPT = 'application/json, text/event-stream';
const MODERN = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'corpus', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

interface Probe {
  what: string;
  body: unknown;
  headers?: Record<string, string>;
  /** Whether the direct path should answer it (false: the SDK answers it on both proxies). */
  direct: boolean;
  /** Refused for its Mcp-Param-* headers (400, -32020) on both proxies, before either path. */
  refused?: boolean;
}

interface Answer {
  status: number;
  /** The JSON-RPC messages as sent, whether the body was JSON or an SSE stream. */
  messages: string[];
  /** The direct path writes a sized JSON body; the SDK's adapters stream theirs. */
  sized: boolean;
  contentType: string | null;
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  const contentType = response.headers.get('content-type');
  const messages = contentType?.includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .filter((data) => data !== '')
    : text === ''
      ? []
      : [text];
  return {
    status: response.status,
    messages,
    sized: response.headers.get('content-length') !== null,
    contentType,
  };
}

const call = (id: number | string, method: string, params: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});

/** A 2026-07-28 request with its headers as a well-behaved client sends them. */
function modern(
  what: string,
  id: number | string,
  method: string,
  params: Record<string, unknown>,
  direct = true,
): Probe {
  const name = (params['name'] ?? params['uri']) as string | undefined;
  return {
    what,
    body: call(id, method, { ...params, _meta: { ...META, ...(params['_meta'] as object) } }),
    headers: {
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name !== undefined && method !== 'completion/complete' && { 'mcp-name': name }),
    },
    direct,
  };
}

const ADD = { name: 'calc__add', arguments: { a: 2, b: 3 } };
/** `digits` and `mode` are marked x-mcp-header (Digits, Mode): they travel as headers too. */
const ROUND = { name: 'calc__round', arguments: { value: 2.567, digits: 2, mode: 'down' } };
const ROUND_HEADERS = {
  'mcp-protocol-version': MODERN,
  'mcp-method': 'tools/call',
  'mcp-name': 'calc__round',
};
const withParams = (what: string, id: number, params: Record<string, string>, refused = false): Probe => ({
  ...modern(what, id, 'tools/call', ROUND),
  headers: { ...ROUND_HEADERS, ...params },
  direct: !refused,
  refused,
});
const PROMPT_REF = { type: 'ref/prompt', name: 'calc__explain-calculation' };

const modernCorpus: Probe[] = [
  modern('a tool call', 1, 'tools/call', ADD),
  modern('a string id', 'call-two', 'tools/call', ADD),
  modern('a tool result with isError', 3, 'tools/call', { name: 'calc__divide', arguments: { a: 1, b: 0 } }),
  modern('arguments the backend rejects', 4, 'tools/call', { name: 'calc__add', arguments: { a: 'x' } }),
  // The fixture lists its tools privately (the v2 SDK's default): a name the shared catalog does
  // not know may be one only this client was shown, and such a call may become a task.
  modern('an unknown tool', 5, 'tools/call', { name: 'calc__nope', arguments: {} }, false),
  modern('a prompt', 6, 'prompts/get', {
    name: 'calc__explain-calculation',
    arguments: { expression: '1+1' },
  }),
  modern('an unknown prompt', 7, 'prompts/get', { name: 'calc__nope' }),
  modern('a resource, stamped with cache fields', 8, 'resources/read', { uri: 'calculator://constants' }),
  modern('an unknown resource', 9, 'resources/read', { uri: 'calculator://nope' }),
  modern('a completion', 10, 'completion/complete', {
    ref: PROMPT_REF,
    argument: { name: 'level', value: 'b' },
  }),
  modern('a completion with a bad ref', 11, 'completion/complete', {
    ref: { type: 'ref/nope' },
    argument: {},
  }),
  modern('a call with its own _meta besides the envelope', 12, 'tools/call', {
    ...ADD,
    _meta: { 'example.com/trace': 'abc' },
  }),
  modern('a call without a name', 15, 'tools/call', { arguments: {} }),
  withParams('a call with its Mcp-Param headers', 30, { 'mcp-param-digits': '2', 'mcp-param-mode': 'down' }),
  withParams('Mcp-Param headers, one Base64-encoded, an integer as 2.0', 31, {
    'mcp-param-digits': '2.0',
    'mcp-param-mode': '=?base64?ZG93bg==?=',
  }),
  // Refused before either path: the same 400 and -32020 on both proxies.
  withParams('a declared Mcp-Param header missing', 32, { 'mcp-param-digits': '2' }, true),
  withParams(
    'an Mcp-Param header that disagrees with the argument',
    33,
    { 'mcp-param-digits': '3', 'mcp-param-mode': 'down' },
    true,
  ),
  withParams(
    'an Mcp-Param header with broken Base64',
    34,
    { 'mcp-param-digits': '2', 'mcp-param-mode': '=?base64?%%?=' },
    true,
  ),
  // From here on the SDK answers on both proxies.
  modern('a call with a progress token', 13, 'tools/call', { ...ADD, _meta: { progressToken: 'p' } }, false),
  // The calculator's lists are private to each client (the SDK's default cacheScope): never from the cache.
  modern('tools/list of private lists', 14, 'tools/list', {}, false),
  modern('an unknown method', 16, 'nope/nothing', {}, false),
  {
    ...modern('Mcp-Name naming another tool', 17, 'tools/call', ADD),
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'calc__subtract' },
    direct: false,
  },
  {
    ...modern('no Mcp-Method header', 18, 'tools/call', ADD),
    headers: { 'mcp-protocol-version': MODERN, 'mcp-name': 'calc__add' },
    direct: false,
  },
  {
    ...modern('no MCP-Protocol-Version header', 19, 'tools/call', ADD),
    headers: { 'mcp-method': 'tools/call', 'mcp-name': 'calc__add' },
    direct: false,
  },
  {
    what: 'an envelope without client capabilities',
    body: call(20, 'tools/call', { ...ADD, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } }),
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'calc__add' },
    direct: false,
  },
  {
    what: 'an unsupported revision in the envelope',
    body: call(21, 'tools/call', {
      ...ADD,
      _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
    }),
    headers: { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/call', 'mcp-name': 'calc__add' },
    direct: false,
  },
  {
    what: 'a notification',
    body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99, _meta: META } },
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'notifications/cancelled' },
    direct: false,
  },
  {
    what: 'an extra top-level member',
    body: { ...call(22, 'tools/call', { ...ADD, _meta: META }), extra: true },
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'calc__add' },
    direct: false,
  },
];

/** Whole lists of a catalog shared by all clients (a 2025-era backend): written from the cache. */
const modernListCorpus: Probe[] = [
  modern('tools/list', 14, 'tools/list', {}),
  modern('tools/list, string id', 'list-2', 'tools/list', {}),
  modern('prompts/list', 23, 'prompts/list', {}),
  modern('resources/list', 24, 'resources/list', {}),
  modern('resources/templates/list', 25, 'resources/templates/list', {}),
  modern('tools/list with its own _meta besides the envelope', 26, 'tools/list', {
    _meta: { 'example.com/trace': 'abc' },
  }),
  modern('tools/list with a cursor', 27, 'tools/list', { cursor: 'abc' }, false),
  {
    ...modern('tools/list with an Mcp-Name header', 28, 'tools/list', {}),
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list', 'mcp-name': 'x' },
    direct: false,
  },
  {
    ...modern('tools/list under another Mcp-Method', 29, 'tools/list', {}),
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'prompts/list' },
    direct: false,
  },
];

/** 2025-era requests inside an initialized session (the session headers are added per proxy). */
const sessionCorpus: Probe[] = [
  { what: 'a tool call', body: call(1, 'tools/call', ADD), direct: true },
  { what: 'a string id', body: call('two', 'tools/call', ADD), direct: true },
  {
    what: 'isError',
    body: call(3, 'tools/call', { name: 'calc__divide', arguments: { a: 1, b: 0 } }),
    direct: true,
  },
  {
    what: 'rejected arguments',
    body: call(4, 'tools/call', { name: 'calc__add', arguments: { a: 'x' } }),
    direct: true,
  },
  { what: 'an unknown tool', body: call(5, 'tools/call', { name: 'calc__nope' }), direct: true },
  {
    what: 'a prompt',
    body: call(6, 'prompts/get', { name: 'calc__explain-calculation', arguments: { expression: '2' } }),
    direct: true,
  },
  { what: 'a resource', body: call(7, 'resources/read', { uri: 'calculator://constants' }), direct: true },
  {
    what: 'an unknown resource',
    body: call(8, 'resources/read', { uri: 'calculator://nope' }),
    direct: true,
  },
  {
    what: 'a completion',
    body: call(9, 'completion/complete', { ref: PROMPT_REF, argument: { name: 'level', value: 'e' } }),
    direct: true,
  },
  { what: 'a call without a name', body: call(10, 'tools/call', {}), direct: true },
  {
    what: 'own _meta',
    body: call(11, 'tools/call', { ...ADD, _meta: { 'example.com/x': 1 } }),
    direct: true,
  },
  // The session's transport answers these on both proxies.
  {
    what: 'a progress token',
    body: call(12, 'tools/call', { ...ADD, _meta: { progressToken: 7 } }),
    direct: false,
  },
  { what: 'tools/list of private lists', body: call(13, 'tools/list', {}), direct: false },
  { what: 'ping', body: call(14, 'ping', {}), direct: false },
  {
    what: 'a notification',
    body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } },
    direct: false,
  },
  {
    what: 'an unsupported protocol version header',
    body: call(15, 'tools/call', ADD),
    headers: { 'mcp-protocol-version': '1999-01-01' },
    direct: false,
  },
  {
    what: 'an Accept without SSE',
    body: call(16, 'tools/call', ADD),
    headers: { accept: 'application/json' },
    direct: false,
  },
  { what: 'a batch', body: [call(17, 'tools/call', ADD)], direct: false },
  { what: 'a fractional id', body: call(18.5, 'tools/call', ADD), direct: false },
];

const sessionListCorpus: Probe[] = [
  { what: 'tools/list', body: call(13, 'tools/list', {}), direct: true },
  {
    what: 'tools/list without params',
    body: { jsonrpc: '2.0', id: 'l', method: 'tools/list' },
    direct: true,
  },
  { what: 'prompts/list', body: call(19, 'prompts/list', {}), direct: true },
  { what: 'resources/list', body: call(20, 'resources/list', {}), direct: true },
  { what: 'resources/templates/list', body: call(21, 'resources/templates/list', {}), direct: true },
  { what: 'tools/list with a cursor', body: call(22, 'tools/list', { cursor: 'x' }), direct: false },
  {
    what: 'tools/list with a progress token',
    body: call(23, 'tools/list', { _meta: { progressToken: 1 } }),
    direct: false,
  },
];

async function startProxy(directAnswers: boolean, backend: BackendSpec): Promise<Harness> {
  const h = await startHarness({ directAnswers });
  const response = await h.call('POST', '/mcp_servers', { mcpServers: { calc: backend } });
  expect(response.status).toBe(200);
  await h.proxy.markReadyWhenSettled(20_000);
  expect(h.proxy.registry.get('calc')?.state).toBe('ready');
  return h;
}

const send = async (h: Harness, probe: Probe, headers: Record<string, string> = {}): Promise<Answer> =>
  answerOf(await h.call('POST', '/mcp', probe.body, { accept: ACCEPT, ...headers, ...probe.headers }));

async function sameModernAnswer(directProxy: Harness, sdkProxy: Harness, probe: Probe): Promise<void> {
  const [direct, sdk] = await Promise.all([send(directProxy, probe), send(sdkProxy, probe)]);
  expect(direct.status).toBe(sdk.status);
  expect(direct.messages).toEqual(sdk.messages);
  expect(direct.contentType).toBe(sdk.contentType);
  // Taken or not: the direct path writes a sized body, the SDK's Node adapter streams its own.
  expect(direct.sized).toBe(probe.direct || probe.refused === true);
  expect(sdk.sized).toBe(probe.refused === true);
  if (probe.refused) {
    expect(sdk.status).toBe(400);
    expect(sdk.messages[0]).toContain('"code":-32020');
  } else if (probe.what.includes('Mcp-Param')) {
    expect(sdk.status).toBe(200);
    expect(sdk.messages[0]).toContain('"text":"2.56"');
  }
}

async function openSession(h: Harness): Promise<Record<string, string>> {
  const init = await h.call(
    'POST',
    '/mcp',
    call(0, 'initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'corpus', version: '1.0.0' },
    }),
    { accept: ACCEPT },
  );
  await init.text();
  const id = init.headers.get('mcp-session-id');
  expect(id).toBeTruthy();
  const headers = { 'mcp-session-id': id ?? '', 'mcp-protocol-version': '2025-11-25' };
  const initialized = await h.call(
    'POST',
    '/mcp',
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { accept: ACCEPT, ...headers },
  );
  expect(initialized.status).toBe(202);
  return headers;
}

async function sameSessionAnswers(directProxy: Harness, sdkProxy: Harness, corpus: Probe[]): Promise<void> {
  const [directSession, sdkSession] = await Promise.all([openSession(directProxy), openSession(sdkProxy)]);
  for (const probe of corpus) {
    const [direct, sdk] = await Promise.all([
      send(directProxy, probe, directSession),
      send(sdkProxy, probe, sdkSession),
    ]);
    expect({ probe: probe.what, status: direct.status, messages: direct.messages }).toEqual({
      probe: probe.what,
      status: sdk.status,
      messages: sdk.messages,
    });
    // Taken: one JSON answer instead of the transport's SSE stream (which any client must accept).
    expect({ probe: probe.what, json: direct.contentType === 'application/json' && direct.sized }).toEqual({
      probe: probe.what,
      json: probe.direct,
    });
    if (probe.direct) expect(sdk.contentType).toBe('text/event-stream');
  }
}

describe('direct answers are the SDK’s answers', () => {
  let directProxy: Harness;
  let sdkProxy: Harness;

  beforeAll(async () => {
    const calc = fixtureServer('calculator.ts', '--param-headers');
    [directProxy, sdkProxy] = await Promise.all([startProxy(true, calc), startProxy(false, calc)]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([directProxy?.close(), sdkProxy?.close()]);
  });

  it.each(modernCorpus.map((probe) => [probe.what, probe] as const))('2026-07-28: %s', (_, probe) =>
    sameModernAnswer(directProxy, sdkProxy, probe),
  );

  it('answers every 2026-07-28 relayed call with one long-lived relay whose server is never connected', async () => {
    const relay = directProxy.proxy.gateway.statelessRelay();
    for (let id = 0; id < 20; id++) {
      const answer = await send(directProxy, modern('a call', id, 'tools/call', ADD));
      expect(answer.status).toBe(200);
    }
    // A connected shared server is what grows the v2 SDK's stateless handler (#2607): it holds nothing here.
    expect(directProxy.proxy.gateway.statelessRelay()).toBe(relay);
    expect(relay.server.transport).toBeUndefined();
  });

  it('2025-11-25 sessions: relayed calls come back as JSON with the same message, the rest as before', () =>
    sameSessionAnswers(directProxy, sdkProxy, sessionCorpus));
});

describe('whole lists from the cache are the SDK’s lists', () => {
  let directProxy: Harness;
  let sdkProxy: Harness;

  beforeAll(async () => {
    // A 2025-era backend: its lists are shared by every client, so the cached JSON answers them.
    const calc = fixtureServer('calculator.ts', '--legacy');
    [directProxy, sdkProxy] = await Promise.all([startProxy(true, calc), startProxy(false, calc)]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([directProxy?.close(), sdkProxy?.close()]);
  });

  it.each(modernListCorpus.map((probe) => [probe.what, probe] as const))('2026-07-28: %s', (_, probe) =>
    sameModernAnswer(directProxy, sdkProxy, probe),
  );

  it('2025-11-25 sessions: whole lists come back as JSON with the same message', () =>
    sameSessionAnswers(directProxy, sdkProxy, sessionListCorpus));

  it('a list answered after a backend changed is the new list, not the cached one', async () => {
    const probe = modernListCorpus[0] as Probe;
    const before = await send(directProxy, probe);
    await directProxy.call('PUT', '/mcp_servers/calc', {
      ...fixtureServer('calculator.ts', '--legacy'),
      tools: { exclude: ['add'] },
    });
    await directProxy.proxy.markReadyWhenSettled(20_000);
    const deadline = Date.now() + 20_000;
    let after = await send(directProxy, probe);
    while (after.messages[0]?.includes('"calc__add"') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await send(directProxy, probe);
    }
    expect(before.messages[0]).toContain('"calc__add"');
    expect(after.messages[0]).not.toContain('"calc__add"');
    expect(after.messages[0]).toContain('"calc__subtract"');
    expect(after.sized).toBe(true);
  });
});

describe('Mcp-Param-* headers a tool does not declare reach a 2026-07-28 backend on both paths', () => {
  let backend: ChildProcess;
  let directProxy: Harness;
  let sdkProxy: Harness;

  beforeAll(async () => {
    // The modern fixture over HTTP (stdio carries no headers): its param_headers tool says what came.
    backend = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/servers/modern.ts', '--http', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('modern fixture printed no url in 20 s')), 20_000);
      let said = '';
      backend.stderr?.on('data', (chunk: Buffer) => {
        const found = /listening on (\S+)/.exec((said += String(chunk)));
        if (found?.[1]) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
    });
    [directProxy, sdkProxy] = await Promise.all([
      startProxy(true, { url } as BackendSpec),
      startProxy(false, { url } as BackendSpec),
    ]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([directProxy?.close(), sdkProxy?.close()]);
    backend?.kill();
  });

  it('passes them on, the same way whether answered directly or by the SDK', async () => {
    const probe = withParams('unknown Mcp-Param headers', 40, { 'mcp-param-tenant': 'acme' });
    const call = {
      ...probe,
      body: { ...(probe.body as object), params: { name: 'calc__param_headers', _meta: META } },
    };
    call.headers = { ...call.headers, 'mcp-name': 'calc__param_headers' };
    const [direct, sdk] = await Promise.all([send(directProxy, call), send(sdkProxy, call)]);
    expect(direct.messages).toEqual(sdk.messages);
    expect(sdk.messages[0]).toContain('"text":"mcp-param-tenant: acme"');
    expect(direct.sized).toBe(true);
  });
});
