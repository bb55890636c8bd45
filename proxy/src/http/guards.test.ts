import { describe, expect, it } from 'vitest';
import { redactSpec } from './admin.js';
import type { AdminTokenState } from './admin-token.js';
import { checkAdminAccess, isLoopbackHost, originAllowed } from './guards.js';

describe('checkAdminAccess', () => {
  it('lets loopback binds without a token through', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
      expect(checkAdminAccess({ host }, undefined), host).toBeUndefined();
    }
  });

  it('refuses binds beyond loopback without a token, saying how to set one', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'proxy.example']) {
      const refusal = checkAdminAccess({ host }, 'Bearer anything');
      expect(refusal?.status, host).toBe(403);
      expect(refusal?.error).toContain('--admin-token');
      expect(refusal?.error).toContain('MULTI_MCP_ADMIN_TOKEN');
    }
  });

  it('requires the exact bearer token when one is set, on any bind', () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const options = { host, adminToken: 'tok' };
      expect(checkAdminAccess(options, undefined)?.status).toBe(401);
      expect(checkAdminAccess(options, 'Basic dG9r')?.status).toBe(401);
      expect(checkAdminAccess(options, 'Bearer to')?.status).toBe(401);
      expect(checkAdminAccess(options, 'Bearer tokk')?.status).toBe(401);
      expect(checkAdminAccess(options, 'Bearer tok')).toBeUndefined();
      expect(checkAdminAccess(options, 'bearer tok')).toBeUndefined();
    }
  });
});

describe('checkAdminAccess with a token file', () => {
  it('reads the current token on every request and refuses everyone while the file is unusable', () => {
    let state: AdminTokenState = { token: 'first' };
    const source = { current: () => state, describe: '--admin-token-file /run/token' };
    const options = { host: '0.0.0.0', adminToken: source };
    expect(checkAdminAccess(options, 'Bearer first')).toBeUndefined();
    state = { token: 'second' };
    expect(checkAdminAccess(options, 'Bearer first')).toMatchObject({
      status: 401,
      error: expect.stringContaining('--admin-token-file /run/token') as string,
    });
    expect(checkAdminAccess(options, 'Bearer second')).toBeUndefined();
    state = { unusable: 'admin token file /run/token is empty' };
    for (const presented of ['Bearer second', 'Bearer first', undefined]) {
      expect(checkAdminAccess(options, presented)).toMatchObject({
        status: 503,
        error: expect.stringContaining('/run/token is empty') as string,
      });
    }
  });
});

describe('originAllowed', () => {
  it('allows this machine and the listed origins only', () => {
    expect(originAllowed('http://localhost:3000', [])).toBe(true);
    expect(originAllowed('http://127.0.0.1', [])).toBe(true);
    expect(originAllowed('http://[::1]:8080', [])).toBe(true);
    expect(originAllowed('https://evil.example', [])).toBe(false);
    expect(originAllowed('null', [])).toBe(false);
    expect(originAllowed('https://app.example', ['https://app.example'])).toBe(true);
    expect(originAllowed('https://app.example:8443', ['app.example'])).toBe(true);
    expect(originAllowed('http://app.example', ['https://app.example'])).toBe(false);
    expect(originAllowed('https://anything.example', ['*'])).toBe(true);
  });

  it('does not take look-alike hosts for loopback', () => {
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
    expect(isLoopbackHost('localhost.evil.example')).toBe(false);
    expect(isLoopbackHost('app.localhost')).toBe(true);
  });
});

describe('redactSpec', () => {
  it('masks env and header values and URL passwords, keeping keys', () => {
    expect(redactSpec({ command: 'x', env: { KEY: 'v' } })).toEqual({
      command: 'x',
      env: { KEY: '<redacted>' },
    });
    const remote = redactSpec({ url: 'https://u:p@h.example/mcp', headers: { Authorization: 'Bearer x' } });
    expect(remote).toMatchObject({ headers: { Authorization: '<redacted>' } });
    expect((remote as { url: string }).url).not.toContain(':p@');
  });
});
