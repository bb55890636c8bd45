import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { v1Http } from './support/clients.js';
import { cliPath, everythingBin, fixture, writeTempFile } from './support/paths.js';
import { start, stopAll, waitForOutput, waitUntil } from './support/processes.js';

// `--log-format json` as a log collector reads it: every line one object with time, level and
// msg; lines about a backend name it, lines about a call carry its request id.

afterAll(stopAll);

const TIMEOUT_MS = 300;

interface Line {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

describe('--log-format json', () => {
  it('writes one JSON object a line, with the backend and the request id where they belong', async () => {
    const config = writeTempFile('mcp.json', {
      mcpServers: {
        calc: fixture('calculator.ts'),
        broken: fixture('crash-at-start.ts'),
        slow: { command: process.execPath, args: [everythingBin, 'stdio'], timeoutMs: TIMEOUT_MS },
      },
    });
    const proc = start(process.execPath, [
      ...[cliPath, '--transport', 'http', '--port', '0', '--config', config],
      ...['--log-format', 'json'],
    ]);
    const [, url] = await waitForOutput(proc, /"msg":"listening".*"mcp":"(http:\/\/127\.0\.0\.1:\d+)\/mcp"/);
    await waitUntil(async () => (await fetch(`${url}/readyz`)).ok, 30_000, 'ready');

    const client = await v1Http(url!);
    await expect(
      client.request(
        {
          method: 'tools/call',
          params: { name: 'slow__trigger-long-running-operation', arguments: { duration: 5, steps: 1 } },
        },
        CallToolResultSchema,
      ),
    ).rejects.toThrow(/did not answer/);
    await waitForOutput(proc, /"msg":"relay failed"/, 5_000);
    await client.close();
    await proc.stop();

    const lines = proc
      .output()
      .split('\n')
      .filter((line) => line !== '');
    const records = lines.map((line) => {
      expect(() => JSON.parse(line) as unknown, line).not.toThrow();
      return JSON.parse(line) as Line;
    });
    for (const record of records) {
      expect(record.time, JSON.stringify(record)).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
      expect(['debug', 'info', 'warn', 'error']).toContain(record.level);
      expect(typeof record.msg).toBe('string');
    }

    // About a backend: its name. The broken one's own stderr is relayed, tagged with it.
    const about = (msg: string | RegExp) =>
      records.filter((r) => (typeof msg === 'string' ? r.msg === msg : msg.test(r.msg)));
    expect(about('backend ready').map((r) => r['backend'])).toEqual(expect.arrayContaining(['calc', 'slow']));
    expect(about('backend failed, retrying')[0]).toMatchObject({ level: 'warn', backend: 'broken' });
    expect(about(/crash-at-start: failing on purpose/)[0]).toMatchObject({
      backend: 'broken',
      stream: 'stderr',
    });

    // About a call: the backend, the method, the client's request id and how it ended.
    const failed = about('relay failed')[0];
    expect(failed).toMatchObject({
      level: 'warn',
      backend: 'slow',
      method: 'tools/call',
      outcome: 'timeout',
      session: expect.any(String) as string,
    });
    expect(['number', 'string']).toContain(typeof failed?.['request']);
  });
});
