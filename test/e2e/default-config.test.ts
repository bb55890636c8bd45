import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import { startHttpProxy, stopAll } from './support/processes.js';

afterAll(stopAll);

// `npm start` with no mcp.json in the working directory serves the shipped example servers.
it('serves the shipped example servers when there is no ./mcp.json', async () => {
  const emptyDir = mkdtempSync(join(tmpdir(), 'multi-mcp-nocfg-'));
  const proxy = await startHttpProxy(undefined, [], emptyDir);
  const client = await v1Http(proxy.url);
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(
    expect.arrayContaining(['calculator__add', 'unit_converter__convert', 'weather__get_forecast']),
  );
  const forecast = await client.callTool({
    name: 'weather__get_forecast',
    arguments: { city: 'Berlin', days: 2 },
  });
  const again = await client.callTool({
    name: 'weather__get_forecast',
    arguments: { city: 'Berlin', days: 2 },
  });
  expect(forecast.structuredContent).toBeDefined();
  expect(again.structuredContent).toEqual(forecast.structuredContent);
  await client.close();
}, 60_000);
