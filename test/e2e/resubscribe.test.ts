import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { everythingBin, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, stopAll, waitUntil } from './support/processes.js';

// A backend that crashes and is restarted has lost its resource subscriptions; the proxy
// subscribes again for its clients, so updates keep reaching them.

let proxy: RunningProxy;
let client: Client;
let pidFile: string;
const logged: string[] = [];
const updated: string[] = [];

/** server-everything over stdio, through a shell that records its pid and then becomes it. */
function everythingWithPidFile(path: string): Record<string, unknown> {
  return {
    command: '/bin/sh',
    args: ['-c', `echo $$ > '${path}'; exec '${process.execPath}' '${everythingBin}' stdio`],
  };
}

const backendPid = (): number => Number(readFileSync(pidFile, 'utf8').trim());

async function status(): Promise<{ state: string; restarts: number }> {
  return (await (await fetch(`${proxy.url}/mcp_servers/everything`)).json()) as {
    state: string;
    restarts: number;
  };
}

const subscribeRequests = (uri: string): number =>
  logged.filter((m) => m.startsWith(`Received Subscribe Resource request for URI: ${uri}`)).length;

beforeAll(async () => {
  pidFile = join(dirname(writeTempFile('placeholder', '')), 'everything.pid');
  proxy = await startHttpProxy(
    writeTempFile('mcp.json', { mcpServers: { everything: everythingWithPidFile(pidFile) } }),
  );
  client = new Client({ name: 'resubscribe-e2e', version: '1.0.0' });
  client.onerror = () => {};
  client.setNotificationHandler(
    LoggingMessageNotificationSchema,
    (n) => void logged.push(String(n.params.data)),
  );
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
}, 60_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  await stopAll();
});

it('re-subscribes with a backend after it is killed and restarted, so updates still arrive', async () => {
  const { resources } = await client.listResources();
  const uri = resources.find((r) => r.uri.startsWith('demo://resource/static/document/'))?.uri;
  expect(uri).toBeDefined();
  const subscribed = uri as string;
  await client.subscribeResource({ uri: subscribed });
  // server-everything logs every subscribe request it gets: the way to see what reached it.
  await waitUntil(
    async () => subscribeRequests(subscribed) === 1,
    10_000,
    'the subscribe reaching the backend',
  );

  const before = backendPid();
  process.kill(before, 'SIGKILL');
  await waitUntil(
    async () => {
      const now = await status();
      return now.state === 'ready' && now.restarts >= 1 && backendPid() !== before;
    },
    20_000,
    'the backend restarted and ready again',
  );
  await waitUntil(
    async () => subscribeRequests(subscribed) === 2,
    10_000,
    'the proxy subscribing again with the restarted backend',
  );

  // The restarted backend sends an update for every subscribed resource when asked to.
  updated.length = 0;
  await client.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
  await waitUntil(async () => updated.includes(subscribed), 10_000, 'an update of the subscribed resource');
  await client.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
});
