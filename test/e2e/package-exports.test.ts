import { expect, it } from 'vitest';

// What other packages (the operator, programs embedding the proxy) import, resolved through
// the package's "exports" map against the build output, as a consumer would.
it('exposes the proxy and the backend contract as package entry points', async () => {
  const proxy = await import('@multi-mcp/proxy');
  expect(typeof proxy.createProxy).toBe('function');
  expect(typeof proxy.startHttpFrontDoor).toBe('function');
  const contract = await import('@multi-mcp/proxy/contract');
  expect(contract.parseBackendSpec({ url: 'http://127.0.0.1:1/mcp' }, 'x')).toMatchObject({
    url: 'http://127.0.0.1:1/mcp',
  });
  expect(() => contract.parseBackendSpec({ comand: 'x' }, 'mcpServers.a')).toThrow(/comand/);
});
