import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from './support/authorization-server.js';
import { startAuthorizationServer } from './support/authorization-server.js';
import { repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, start, startHttpProxy, stopAll, waitForOutput } from './support/processes.js';
import type { ModernAnswer } from './support/modern-rpc.js';
import { modernRpc } from './support/modern-rpc.js';

// An input_required continuation (a 2026-07-28 call whose 2025-era backend asked for input) is
// bound to the token's subject and to the endpoint that issued it: a retry with another subject's
// token, or at another virtual server, is refused exactly like a tampered requestState. Real
// tokens from a real authorization server (oidc-provider on loopback), raw JSON-RPC requests.

let as: AuthorizationServer;
let proxy: RunningProxy;
let audience: string;

beforeAll(async () => {
  as = await startAuthorizationServer(await freePort());
  const fixture = start(process.execPath, [
    '--import',
    'tsx',
    join(repoRoot, 'test/fixtures/servers/conformance.ts'),
    '--http',
    '0',
    '--legacy-only',
  ]);
  const [, url] = await waitForOutput(fixture, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
  const config = writeTempFile('mcp.json', {
    mcpServers: { fx: { url, prefix: '' } },
    virtualServers: { 'team-a': { backends: ['fx'] }, 'team-b': { backends: ['fx'] } },
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
  ]);
}, 60_000);

afterAll(async () => {
  await stopAll();
  await as?.close();
});

const sampling = (
  path: string,
  token: string,
  retry: { requestState?: string; inputResponses?: Record<string, unknown> } = {},
): Promise<ModernAnswer> =>
  modernRpc(
    `${proxy.url}${path}`,
    'tools/call',
    { name: 'test_sampling', arguments: { prompt: 'hi' }, ...retry },
    { token, capabilities: { sampling: {} } },
  );

const answer = (text: string) => ({ role: 'assistant', content: { type: 'text', text }, model: 'm' });

describe('input_required continuations under OAuth and virtual servers', () => {
  for (const path of ['/mcp', '/mcp/team-a']) {
    it(`at ${path}: resumes only with the same subject's token at the same endpoint`, async () => {
      const [alice, bob] = await Promise.all([as.token('alice', audience), as.token('bob', audience)]);
      const first = await sampling(path, alice);
      expect(first.body.result?.resultType).toBe('input_required');
      const requestState = first.body.result?.requestState as string;
      const [key] = Object.keys(first.body.result?.inputRequests as Record<string, unknown>);
      const inputResponses = { [key as string]: answer('Paris') };

      const tampered = await sampling(path, alice, { requestState: `${requestState}x`, inputResponses });
      expect(tampered.body.error?.code).toBe(-32602);
      const refusal = tampered.body.error?.message;
      expect(refusal).toMatch(/requestState was not issued by this proxy/);

      // Bob holds a valid token and the very requestState Alice got: to him it is a forgery.
      const stolen = await sampling(path, bob, { requestState, inputResponses });
      expect(stolen.body.error).toEqual(tampered.body.error);
      // The same subject at another endpoint: another virtual server, or the whole catalog.
      const elsewhere = path === '/mcp' ? '/mcp/team-b' : '/mcp';
      for (const other of [elsewhere, '/mcp/team-b']) {
        if (other === path) continue;
        const moved = await sampling(other, alice, { requestState, inputResponses });
        expect(moved.body.error).toEqual(tampered.body.error);
      }

      // None of that used the continuation up: Alice, with a fresh token, completes her call.
      const done = await sampling(path, await as.token('alice', audience), { requestState, inputResponses });
      expect(done.body.result?.content).toEqual([{ type: 'text', text: 'LLM response: Paris' }]);
    });
  }
});
