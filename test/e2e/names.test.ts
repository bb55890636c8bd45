import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import type { AnyClient } from './support/clients.js';
import { fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, stopAll, waitForOutput } from './support/processes.js';

// Exposed names as users configure them on the command line: shortened names must come out the
// same from two separate proxy processes (two replicas, or one restarted), and collisions must
// be logged, not only listed in the admin API.
const config = writeTempFile('mcp.json', {
  mcpServers: {
    // `weather_service_backend::whoami` is 31 characters, over the limit of 20 set below.
    weather_service_backend: fixture('echo-named.ts', 'long'),
    // Both expose `echo`, `whoami` and `crash` unprefixed: alpha, registered first, keeps them.
    alpha: { ...fixture('echo-named.ts', 'alpha'), prefix: '' },
    beta: { ...fixture('echo-named.ts', 'beta'), prefix: '' },
  },
});
const flags = ['--max-name-length', '20', '--separator', '::'];
const clients: AnyClient[] = [];
let first: RunningProxy;
let second: RunningProxy;

beforeAll(async () => {
  [first, second] = await Promise.all([startHttpProxy(config, flags), startHttpProxy(config, flags)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await stopAll();
});

async function toolNames(proxy: RunningProxy): Promise<string[]> {
  const client = await v1Http(proxy.url);
  clients.push(client);
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

describe('exposed names through the CLI', () => {
  it('shortens long names identically in two separate proxy processes, and routes them', async () => {
    const [a, b] = await Promise.all([toolNames(first), toolNames(second)]);
    expect(a).toEqual(b);
    // The same value catalog.test.ts pins for shorten().
    expect(a).toContain('weather_ser_c814e1fc');
    expect(a.every((name) => name.length <= 20)).toBe(true);
    expect(a.filter((name) => name.startsWith('weather_'))).toHaveLength(3);

    for (const proxy of [first, second]) {
      const client = await v1Http(proxy.url);
      clients.push(client);
      const result = await client.callTool({ name: 'weather_ser_c814e1fc', arguments: {} });
      expect(result.structuredContent).toEqual({ name: 'long' });
    }
  });

  it('logs each collision, naming the name, who keeps it and who lost it', async () => {
    for (const proxy of [first, second]) {
      for (const tool of ['echo', 'whoami', 'crash']) {
        await waitForOutput(
          proxy,
          new RegExp(`WARN +name collision: tool "${tool}" is kept by "alpha" backend=beta`),
          5_000,
        );
      }
    }
    const listed = (await fetch(`${first.url}/mcp_tools`).then((r) => r.json())) as {
      collisions: unknown[];
    };
    expect(listed.collisions).toContainEqual({
      kind: 'tool',
      exposed: 'echo',
      keptBy: 'alpha',
      droppedFrom: 'beta',
    });
  });
});
