import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../e2e/support/paths.js';
import type { RunningProxy, Started } from '../e2e/support/processes.js';
import { start, startHttpProxy, stopAll, waitForOutput } from '../e2e/support/processes.js';
import { freshNamespace, k8s, kubectl, kubectlJson, waitFor } from '../harness/k8s.js';

// McpVirtualServer end to end: kubectl apply on a real API server, a real operator process running
// as a ServiceAccount bound to config/rbac as shipped, a real proxy, and an SDK client calling
// through the endpoint the status names.

const operatorBin = join(repoRoot, 'operator/dist/main.js');
const fixtureArgs = (file: string) => ['--import', 'tsx', join(repoRoot, 'test/fixtures/servers', file)];
const TOKEN = 'virtual-test-admin-token';
const CHANGE_MS = 20_000;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface VirtualObject {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: Condition[]; endpoint?: string; synced?: string };
}

describe('McpVirtualServer, end to end on a real control plane', () => {
  let dir: string;
  let ns: string;
  let proxy: RunningProxy;
  let operator: Started;
  const clients: Client[] = [];

  beforeAll(async () => {
    const ctx = k8s();
    dir = mkdtempSync(join(tmpdir(), 'multi-mcp-virtual-'));
    ns = await freshNamespace('vs-apps');
    // config/rbac as shipped, bound to this test's ServiceAccount, which the operator impersonates.
    const saNs = await freshNamespace('vs-sa');
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      stringify({
        namespace: saNs,
        nameSuffix: `-${saNs}`,
        resources: [relative(dir, join(repoRoot, 'config/rbac'))],
      }),
    );
    await kubectl(['apply', '-k', dir]);
    const kubeconfig = parse(readFileSync(ctx.kubeconfig, 'utf8')) as {
      users: { user: Record<string, unknown> }[];
    };
    for (const u of kubeconfig.users)
      u.user['as'] = `system:serviceaccount:${saNs}:multi-mcp-operator-${saNs}`;
    const operatorKubeconfig = join(dir, 'operator.kubeconfig');
    writeFileSync(operatorKubeconfig, stringify(kubeconfig));

    const emptyConfig = join(dir, 'empty.json');
    writeFileSync(emptyConfig, JSON.stringify({ mcpServers: {} }));
    proxy = await startHttpProxy(emptyConfig, ['--admin-token', TOKEN]);
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    operator = start(process.execPath, [
      operatorBin,
      '--kubeconfig',
      operatorKubeconfig,
      '--namespaces',
      ns,
      '--proxy-url',
      proxy.url,
      '--admin-token-file',
      tokenFile,
      '--stdio-namespaces',
      ns,
      '--resync-seconds',
      '2',
      '--no-leader-elect',
      '--health-host',
      '127.0.0.1',
      '--health-port',
      '0',
    ]);
    await waitForOutput(operator, /caches synced.*mcpvirtualservers/, 30_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves the view an applied McpVirtualServer selects at the endpoint its status names', async () => {
    const server = (name: string, file: string) => ({
      apiVersion: 'multi-mcp.io/v1alpha1',
      kind: 'McpServer',
      metadata: { name },
      spec: { command: process.execPath, args: fixtureArgs(file), cwd: repoRoot },
    });
    const view = {
      apiVersion: 'multi-mcp.io/v1alpha1',
      kind: 'McpVirtualServer',
      metadata: { name: 'math' },
      spec: { backends: ['calc'], tools: { include: ['calc__add', 'calc__multiply'] } },
    };
    await kubectl(['apply', '-n', ns, '-f', '-'], {
      input: [server('calc', 'calculator.ts'), server('weather', 'weather.ts'), view]
        .map((o) => stringify(o))
        .join('---\n'),
    });
    const short = await kubectl(['get', '-n', ns, 'mcpvs', '-o', 'name']);
    expect(short.stdout.trim()).toBe('mcpvirtualserver.multi-mcp.io/math');

    const ready = await waitFor(
      'McpVirtualServer math Ready',
      async () => {
        const obj = await kubectlJson<VirtualObject>(['get', '-n', ns, 'mcpvs', 'math', '-o', 'json']);
        const condition = obj.status?.conditions?.find((c) => c.type === 'Ready');
        return condition?.status === 'True' && obj.status?.observedGeneration === obj.metadata.generation
          ? obj
          : undefined;
      },
      { timeoutMs: CHANGE_MS, intervalMs: 200 },
    );
    // What kubectl wait and kubectl get show (kstatus reads the same Ready + observedGeneration).
    await kubectl(['wait', '-n', ns, '--for=condition=Ready', 'mcpvs/math', '--timeout=10s']);
    const table = await kubectl(['get', '-n', ns, 'mcpvs']);
    expect(table.stdout).toMatch(new RegExp(`math\\s+/mcp/${ns}_math\\s+True\\s+1/1`));
    expect(ready.status?.endpoint).toBe(`/mcp/${ns}_math`);
    expect(ready.status?.synced).toBe('1/1');
    expect(ready.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('True');

    const client = new Client({ name: 'k8s-virtual', version: '1.0.0' });
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}${ready.status?.endpoint}`)));
    // A view's Ready says it is served; whether its servers are connected is each McpServer's Ready.
    await kubectl(['wait', '-n', ns, '--for=condition=Ready', 'mcps/calc', 'mcps/weather', '--timeout=20s']);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'calc__add',
      'calc__multiply',
    ]);
    const product = await client.callTool({ name: 'calc__multiply', arguments: { a: 6, b: 7 } });
    expect(product.structuredContent).toEqual({ result: 42 });
    await expect(
      client.callTool({ name: 'weather__get_forecast', arguments: { city: 'Paris' } }),
    ).rejects.toThrow(/Unknown tool/);
    await expect(client.readResource({ uri: 'weather://cities' })).rejects.toThrow(/Unknown resource/);

    // kubectl delete takes the endpoint away from every replica.
    await kubectl(['delete', '-n', ns, 'mcpvs', 'math']);
    await waitFor(
      'the endpoint gone',
      async () =>
        (await fetch(`${proxy.url}/mcp/${ns}_math`, { method: 'POST' })).status === 404 || undefined,
      { timeoutMs: CHANGE_MS, intervalMs: 200 },
    );
  });
});
