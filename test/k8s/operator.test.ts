import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { v1Http } from '../e2e/support/clients.js';
import { cliPath, everythingBin, repoRoot } from '../e2e/support/paths.js';
import type { Started } from '../e2e/support/processes.js';
import { start, stopAll, waitForOutput } from '../e2e/support/processes.js';
import { freshNamespace, k8s, kubectl, kubectlJson, waitFor } from '../harness/k8s.js';
import type { NetNamespace } from '../harness/netns.js';
import { createNetNamespace } from '../harness/netns.js';

// A real operator process (as a ServiceAccount bound to config/rbac) and two real proxy processes,
// each with its own address in a network namespace, found through an EndpointSlice written here as
// a cluster would. Everything is driven with kubectl apply, and observed through MCP clients.

const operatorBin = join(repoRoot, 'operator/dist/main.js');
const calculator = join(repoRoot, 'test/fixtures/servers/calculator.ts');
const drifting = join(repoRoot, 'test/fixtures/servers/drifting.ts');
const TOKEN = 'operator-test-admin-token';
// The operator's default: nothing below may depend on a resync coming soon.
const RESYNC_SECONDS = 60;
// The operator reads every replica this often; the proxies ping their backends this often.
const STATUS_INTERVAL_SECONDS = 1;
const LIVENESS_MS = 500;
// Bounds derived from those settings: a change is pushed at once; a replica that came back, or a
// backend that broke, is seen by the next status read; stdio servers start through tsx (a second or
// two).
const CHANGE_MS = 15_000;
const HEAL_MS = STATUS_INTERVAL_SECONDS * 1000 * 3 + CHANGE_MS;
const LEASE_SECONDS = 3;
// The operator's default --admin-timeout-seconds: how long it waits for a replica that does not answer.
const ADMIN_TIMEOUT_MS = 10_000;
// A deletion waits at most for the push in flight to a hung replica and two more (the fleet's three
// attempts), each ending at the admin timeout, then for the release itself.
const RELEASE_MS = 3 * ADMIN_TIMEOUT_MS + CHANGE_MS;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
}
interface McpServerObject {
  metadata: { name: string; finalizers?: string[] };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    replicas?: { synced: number; total: number };
    synced?: string;
    toolCount?: number;
    tools?: string[];
    toolDefinitions?: { name: string; exposed?: string; hash: string; state: string }[];
    prefix?: string;
    transport?: string;
    serverInfo?: { name: string; version: string; protocolVersion?: string };
    lastError?: string;
  };
}

const condition = (obj: McpServerObject, type: string): Condition | undefined =>
  obj.status?.conditions?.find((c) => c.type === type);

describe('the operator, end to end on a real control plane', () => {
  let dir: string;
  let net: NetNamespace | undefined;
  let sysNs: string; // the proxies' admin Service
  let appsNs: string; // stdio allowed
  let otherNs: string; // stdio not allowed
  let operator: Started;
  let operatorArgs: string[];
  let leaseNs: string;
  let health: string;
  const proxies: { id: string; address: string; url: string; proc?: Started }[] = [];
  const clients = new Map<string, Client>();

  const startProxy = async (p: (typeof proxies)[number], emptyConfig: string): Promise<void> => {
    if (!net) throw new Error('no network namespace');
    const [cmd, args] = net.wrap(process.execPath, [
      cliPath,
      '--transport',
      'http',
      '--host',
      p.address,
      '--port',
      '8080',
      '--config',
      emptyConfig,
      '--admin-token',
      TOKEN,
      '--liveness-interval-ms',
      String(LIVENESS_MS),
    ]);
    p.proc = start(cmd, args);
    await waitForOutput(p.proc, /listening/, 20_000);
  };

  const client = async (p: (typeof proxies)[number]): Promise<Client> => {
    const existing = clients.get(p.id);
    if (existing) return existing;
    const c = await v1Http(p.url);
    clients.set(p.id, c);
    return c;
  };
  const dropClient = async (id: string): Promise<void> => {
    await clients
      .get(id)
      ?.close()
      .catch(() => undefined);
    clients.delete(id);
  };
  /** `kubectl get events` of an McpServer in appsNs, once a line names `reason`. */
  const eventsOnceNaming = (name: string, reason: string): Promise<string> =>
    waitFor(
      `a ${reason} Event on ${name}`,
      async () => {
        const r = await kubectl([
          'get',
          'events',
          '-n',
          appsNs,
          '--field-selector',
          `involvedObject.name=${name}`,
        ]);
        return r.stdout.includes(reason) && r.stdout;
      },
      { timeoutMs: CHANGE_MS },
    );
  const toolNames = async (p: (typeof proxies)[number]): Promise<string[]> =>
    ((await (await client(p)).listTools()).tools ?? []).map((t) => t.name).sort();

  /** The admin Service's EndpointSlice as the EndpointSlice controller writes it, one endpoint a proxy. */
  const adminSlice = (ready: boolean[]): string =>
    stringify({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'multi-mcp-admin-1',
        labels: { 'kubernetes.io/service-name': 'multi-mcp-admin' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'admin', port: 8080, protocol: 'TCP' }],
      endpoints: proxies.map((p, i) => ({
        addresses: [p.address],
        conditions: { ready: ready[i] ?? true },
        targetRef: { kind: 'Pod', name: p.id, namespace: sysNs },
      })),
    });
  const adminServers = async (p: (typeof proxies)[number]): Promise<string[]> => {
    const r = await fetch(`${p.url}/mcp_servers`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return ((await r.json()) as { servers: { name: string }[] }).servers.map((b) => b.name);
  };

  const get = (ns: string, name: string) => kubectlJson<McpServerObject>(['get', '-n', ns, 'mcps', name]);
  /** Every McpServer's condition statuses and transition times, to tell whether any moved. */
  const conditionTimes = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const ns of [appsNs, otherNs]) {
      const list = await kubectlJson<{ items: McpServerObject[] }>(['get', '-n', ns, 'mcps']);
      for (const item of list.items)
        for (const c of item.status?.conditions ?? [])
          out[`${ns}/${item.metadata.name} ${c.type}`] = `${c.status} since ${c.lastTransitionTime}`;
    }
    return out;
  };
  const warnings = async (): Promise<string[]> => {
    const names: string[] = [];
    for (const ns of [appsNs, otherNs]) {
      const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
        'get',
        'events',
        '-n',
        ns,
        '--field-selector',
        'type=Warning',
      ]);
      names.push(...list.items.map((e) => `${ns}/${e.metadata.name}`));
    }
    return names.sort();
  };
  /** One proxy's admin requests so far, by "METHOD route", from its own /metrics. */
  const adminRequests = async (p: (typeof proxies)[number]): Promise<Record<string, number>> => {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    const counts: Record<string, number> = {
      'PUT /mcp_servers': 0,
      'PUT /virtual_servers': 0,
      'GET /mcp_servers': 0,
      'PUT /mcp_servers/:name': 0,
      'DELETE /mcp_servers/:name': 0,
    };
    for (const m of text.matchAll(/^multi_mcp_http_requests_total\{([^}]*)\} (\d+)$/gm)) {
      const labels = Object.fromEntries(
        [...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
      );
      const key = `${labels['method']} ${labels['route']}`;
      if (key in counts) counts[key] = (counts[key] ?? 0) + Number(m[2]);
    }
    return counts;
  };
  const apply = (ns: string, objects: Record<string, unknown>[]) =>
    kubectl(['apply', '-n', ns, '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
  const mcps = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'multi-mcp.io/v1alpha1',
    kind: 'McpServer',
    metadata: { name },
    spec,
  });
  const calc = (name: string, extra: Record<string, unknown> = {}) =>
    mcps(name, { command: process.execPath, args: ['--import', 'tsx', calculator], cwd: repoRoot, ...extra });
  const echoServer = mcps('echo', { url: 'http://127.0.0.1:3001/mcp', tools: { include: ['echo'] } });
  const gone = async (ns: string, name: string): Promise<boolean> => {
    const r = await kubectl(['get', '-n', ns, 'mcps', name], { allowFailure: true });
    return r.code !== 0 && r.stderr.includes('NotFound');
  };

  beforeAll(async () => {
    const ctx = k8s();
    dir = mkdtempSync(join(tmpdir(), 'multi-mcp-operator-'));
    sysNs = await freshNamespace('op-sys');
    appsNs = await freshNamespace('op-apps');
    otherNs = await freshNamespace('op-other');

    // config/rbac as shipped, bound to a ServiceAccount of this test (kustomize renames it), so the
    // harness's own ServiceAccount user stays without rights for test/k8s/rbac.test.ts.
    const saNs = await freshNamespace('op-sa');
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      stringify({
        namespace: saNs,
        nameSuffix: `-${saNs}`,
        resources: [relative(dir, join(repoRoot, 'config/rbac'))],
      }),
    );
    await kubectl(['apply', '-k', dir]);
    // Admin credentials impersonating the ServiceAccount: the API server then authorizes every call
    // of the operator as that ServiceAccount, with exactly the rules of config/rbac/role.yaml.
    const kubeconfig = parse(readFileSync(ctx.kubeconfig, 'utf8')) as {
      users: { user: Record<string, unknown> }[];
    };
    for (const u of kubeconfig.users)
      u.user['as'] = `system:serviceaccount:${saNs}:multi-mcp-operator-${saNs}`;
    const operatorKubeconfig = join(dir, 'operator.kubeconfig');
    writeFileSync(operatorKubeconfig, stringify(kubeconfig));

    net = await createNetNamespace(2);
    const emptyConfig = join(dir, 'empty.json');
    writeFileSync(emptyConfig, JSON.stringify({ mcpServers: {} }));
    net.addresses.forEach((address, i) =>
      proxies.push({ id: `proxy-${'ab'[i]}`, address, url: `http://${address}:8080` }),
    );
    // A remote MCP server over Streamable HTTP, reachable from the proxies at the namespace's loopback.
    const [evCmd, evArgs] = net.wrap(process.execPath, [everythingBin, 'streamableHttp']);
    const everything = start(evCmd, evArgs, { PORT: '3001' });
    await waitForOutput(everything, /listening on port 3001/i, 20_000);
    await Promise.all(proxies.map((p) => startProxy(p, emptyConfig)));

    await kubectl(['apply', '-n', sysNs, '-f', '-'], {
      input: [
        stringify({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'multi-mcp-admin' },
          spec: { ports: [{ name: 'admin', port: 8080 }], selector: { app: 'multi-mcp-proxy' } },
        }),
        adminSlice(proxies.map(() => true)),
      ].join('---\n'),
    });

    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    operatorArgs = [
      operatorBin,
      '--kubeconfig',
      operatorKubeconfig,
      '--namespaces',
      `${appsNs},${otherNs}`,
      '--proxy-service',
      `${sysNs}/multi-mcp-admin`,
      '--proxy-port-name',
      'admin',
      '--admin-token-file',
      tokenFile,
      '--stdio-namespaces',
      appsNs,
      '--resync-seconds',
      String(RESYNC_SECONDS),
      '--status-interval-seconds',
      String(STATUS_INTERVAL_SECONDS),
      '--leader-election-namespace',
      saNs,
      '--lease-duration-seconds',
      String(LEASE_SECONDS),
      '--health-host',
      '127.0.0.1',
      '--health-port',
      '0',
    ];
    leaseNs = saNs;
    operator = start(process.execPath, operatorArgs);
    const [, healthUrl] = await waitForOutput(operator, /health=(http:\/\/127\.0\.0\.1:\d+)/, 30_000);
    health = healthUrl ?? '';
    await waitForOutput(operator, /caches synced/, 30_000);
  }, 120_000);

  afterAll(async () => {
    try {
      const closing = Promise.all([...clients.keys()].map(dropClient));
      await Promise.race([closing, new Promise((r) => setTimeout(r, 5_000))]);
      await stopAll();
    } finally {
      // Whatever happened above: the namespace (and its veth pair) must not outlive the test.
      await net?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('serves a stdio and a URL server on both proxies soon after kubectl apply, and says so in status', async () => {
    const applied = Date.now();
    await apply(appsNs, [
      calc('calc'),
      mcps('everything', { url: 'http://127.0.0.1:3001/mcp', transport: 'streamable-http' }),
    ]);
    const callable = await Promise.all(
      proxies.map(async (p) => {
        await waitFor(
          `calc__add and everything__echo on ${p.id}`,
          async () => {
            const names = await toolNames(p);
            return names.includes('calc__add') && names.includes('everything__echo');
          },
          { timeoutMs: CHANGE_MS, intervalMs: 25 },
        );
        return Date.now() - applied;
      }),
    );
    console.log(
      `[operator e2e] apply-to-callable (stdio via tsx + URL): ${callable.map((ms) => `${ms} ms`).join(', ')}`,
    );

    for (const p of proxies) {
      const result = await (await client(p)).callTool({ name: 'calc__add', arguments: { a: 2, b: 3 } });
      expect(JSON.stringify(result.content)).toContain('5');
      const echo = await (
        await client(p)
      ).callTool({ name: 'everything__echo', arguments: { message: 'hi' } });
      expect(JSON.stringify(echo.content)).toContain('hi');
    }

    await kubectl(
      ['wait', '-n', appsNs, '--for=condition=Ready', 'mcps/calc', 'mcps/everything', '--timeout=20s'],
      {
        timeoutMs: 30_000,
      },
    );
    const calcObj = await get(appsNs, 'calc');
    expect(condition(calcObj, 'Accepted')).toMatchObject({ status: 'True' });
    expect(condition(calcObj, 'Synced')).toMatchObject({ status: 'True', message: '2/2 replicas' });
    expect(condition(calcObj, 'Ready')).toMatchObject({ status: 'True' });
    expect(calcObj.status).toMatchObject({
      observedGeneration: 1,
      replicas: { synced: 2, total: 2 },
      synced: '2/2',
      prefix: 'calc',
      transport: 'stdio',
      toolCount: 4,
      serverInfo: { name: 'calculator', protocolVersion: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) },
    });
    expect(calcObj.status?.tools).toEqual(expect.arrayContaining(['calc__add', 'calc__divide']));
    expect(calcObj.metadata.finalizers).toContain('multi-mcp.io/finalizer');
    const everythingObj = await get(appsNs, 'everything');
    expect(everythingObj.status?.transport).toBe('streamable-http');
    expect(everythingObj.status?.toolCount).toBeGreaterThan(5);

    const table = await kubectl(['get', '-n', appsNs, 'mcps', 'calc']);
    expect(table.stdout.split('\n')[1]?.split(/\s+/).slice(0, 6)).toEqual([
      'calc',
      'stdio',
      'calc',
      'True',
      '4',
      '2/2',
    ]);
  });

  it('makes a URL server callable on both proxies soon after kubectl apply, and prints how soon (target < 1 s)', async () => {
    // The operator's own latency: the remote server already runs, so no process start is measured.
    const applied = Date.now();
    await apply(appsNs, [mcps('remote', { url: 'http://127.0.0.1:3001/mcp' })]);
    const applyMs = Date.now() - applied;
    const callable = await Promise.all(
      proxies.map(async (p) => {
        await waitFor(`remote__echo on ${p.id}`, async () => (await toolNames(p)).includes('remote__echo'), {
          timeoutMs: CHANGE_MS,
          intervalMs: 10,
        });
        return Date.now() - applied;
      }),
    );
    await waitFor(
      'remote Ready',
      async () => condition(await get(appsNs, 'remote'), 'Ready')?.status === 'True',
      {
        timeoutMs: CHANGE_MS,
        intervalMs: 50,
      },
    );
    const readyMs = Date.now() - applied;
    const slowest = Math.max(...callable);
    console.log(
      `[operator e2e] URL server: kubectl apply ${applyMs} ms, callable ${callable.map((ms) => `${ms} ms`).join(', ')}, ` +
        `Ready in status ${readyMs} ms; target < 1000 ms ${slowest < 1000 ? 'met' : 'MISSED'}`,
    );
    // The target (< 1 s, met on a quiet machine) is reported above, not asserted: on a loaded 2-core
    // machine a bound that tight would fail for reasons that are not the operator's. This bound only
    // catches a change that is not pushed at once (the resync would heal it seconds later).
    expect(slowest).toBeLessThan(CHANGE_MS);
  });

  it('pushes only to replicas whose endpoint is ready, and gives one that turns ready the whole set', async () => {
    const [a, b] = proxies;
    if (!a || !b) throw new Error('two proxies');
    // proxy-b as the EndpointSlice controller shows a pod whose readiness probe fails.
    await kubectl(['apply', '-n', sysNs, '-f', '-'], { input: adminSlice([true, false]) });
    try {
      await waitFor(
        'the operator to count one replica',
        async () =>
          (await (await fetch(`${health}/metrics`)).text()).includes('multi_mcp_operator_proxy_replicas 1'),
        { timeoutMs: CHANGE_MS },
      );
      await apply(appsNs, [echoServer]);
      await waitFor('echo__echo on proxy-a', async () => (await toolNames(a)).includes('echo__echo'), {
        timeoutMs: CHANGE_MS,
        intervalMs: 50,
      });
      const obj = await waitFor(
        'echo Ready, Synced 1/1',
        async () => {
          const o = await get(appsNs, 'echo');
          return (
            condition(o, 'Ready')?.status === 'True' &&
            condition(o, 'Synced')?.message === '1/1 replicas' &&
            o
          );
        },
        { timeoutMs: CHANGE_MS },
      );
      expect(obj.status?.replicas).toEqual({ synced: 1, total: 1 });
      // The push that gave proxy-a the server left proxy-b alone.
      expect(await adminServers(b)).not.toContain(`${appsNs}_echo`);
    } finally {
      await kubectl(['apply', '-n', sysNs, '-f', '-'], { input: adminSlice([true, true]) });
    }
    await waitFor(
      'echo__echo on proxy-b once it is ready',
      async () => (await toolNames(b)).includes('echo__echo'),
      {
        timeoutMs: CHANGE_MS,
        intervalMs: 50,
      },
    );
    await waitFor(
      'echo Synced 2/2',
      async () => condition(await get(appsNs, 'echo'), 'Synced')?.message === '2/2 replicas',
      { timeoutMs: CHANGE_MS },
    );
  });

  it('never writes spec: its field manager multi-mcp-operator owns only status and its finalizer', async () => {
    // What keeps Argo CD and Flux in sync: every field of spec stays the applier's.
    await apply(appsNs, [echoServer]);
    await waitFor(
      'echo Ready',
      async () => condition(await get(appsNs, 'echo'), 'Ready')?.status === 'True',
      {
        timeoutMs: CHANGE_MS,
      },
    );
    interface ManagedFields {
      manager: string;
      operation: string;
      subresource?: string;
      fieldsV1?: Record<string, Record<string, unknown>>;
    }
    const obj = await kubectlJson<{ metadata: { managedFields: ManagedFields[] } }>([
      'get',
      '-n',
      appsNs,
      'mcps',
      'echo',
      '--show-managed-fields',
    ]);
    const fields = obj.metadata.managedFields;
    const ours = fields.filter((f) => f.manager === 'multi-mcp-operator');
    expect(
      ours.map((f) => [f.operation, f.subresource ?? '', Object.keys(f.fieldsV1 ?? {}).sort()]).sort(),
    ).toEqual([
      ['Apply', 'status', ['f:status']],
      ['Update', '', ['f:metadata']],
    ]);
    const metadata = ours.find((f) => f.operation === 'Update')?.fieldsV1?.['f:metadata'] ?? {};
    expect(Object.keys(metadata)).toEqual(['f:finalizers']);
    expect(fields.filter((f) => f.fieldsV1?.['f:spec'] !== undefined).map((f) => f.manager)).toEqual([
      'kubectl-client-side-apply',
    ]);
  });

  it('moves a server to a new prefix and applies tool filters on both proxies', async () => {
    await apply(appsNs, [calc('calc', { prefix: 'math', tools: { include: ['add', 'multiply'] } })]);
    for (const p of proxies) {
      await waitFor(
        `only math__add and math__multiply on ${p.id}`,
        async () => {
          const names = (await toolNames(p)).filter((n) => /^(calc|math)__/.test(n));
          return names.join() === 'math__add,math__multiply';
        },
        { timeoutMs: CHANGE_MS, intervalMs: 50 },
      );
    }
    await waitFor(
      'status to show the new prefix',
      async () => {
        const obj = await get(appsNs, 'calc');
        return obj.status?.observedGeneration === 2 && condition(obj, 'Ready')?.status === 'True' && obj;
      },
      { timeoutMs: CHANGE_MS },
    );
    const obj = await get(appsNs, 'calc');
    expect(obj.status).toMatchObject({
      prefix: 'math',
      toolCount: 2,
      tools: ['math__add', 'math__multiply'],
    });
  });

  it('quarantines a tool whose pin in spec.tools.pins does not match, says so in ToolsDrifted, and serves it once the right hash is committed', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const dict = (tools: Record<string, unknown>) =>
      mcps('dict', { command: process.execPath, args: ['--import', 'tsx', drifting], cwd: repoRoot, tools });
    const overrides = { stable: { name: 'say', description: 'Say the message back' } };
    // The API server itself refuses a malformed pin (the CRD's pattern), before the operator sees it.
    const refused = await apply(appsNs, [dict({ pins: { lookup: 'sha256:abc' } })]).catch((e: Error) => e);
    expect(String(refused)).toMatch(/spec\.tools\.pins\.lookup/);

    await apply(appsNs, [dict({ overrides, pins: { lookup: wrong } })]);
    const drifted = await waitFor(
      'ToolsDrifted=True on dict, from both replicas',
      async () => {
        const obj = await get(appsNs, 'dict');
        const c = condition(obj, 'ToolsDrifted');
        // One replica may report before the other: wait until both quarantine it.
        return c?.status === 'True' && c.message.includes('proxy-a, proxy-b') && obj;
      },
      { timeoutMs: HEAL_MS },
    );
    const current = drifted.status?.toolDefinitions?.find((t) => t.name === 'lookup');
    expect(current).toMatchObject({ state: 'drifted', exposed: 'dict__lookup' });
    expect(condition(drifted, 'ToolsDrifted')?.message).toContain(
      `lookup (now ${current?.hash} on proxy-a, proxy-b)`,
    );
    for (const p of proxies) {
      const names = await toolNames(p);
      expect(names).toContain('dict__say');
      expect(names).not.toContain('dict__lookup');
      expect(names).not.toContain('dict__stable');
    }

    // Approval the GitOps way: the hash from status, committed to the spec.
    await apply(appsNs, [dict({ overrides, pins: { lookup: current?.hash } })]);
    await waitFor(
      'ToolsDrifted=False on dict',
      async () => condition(await get(appsNs, 'dict'), 'ToolsDrifted')?.status === 'False',
      { timeoutMs: HEAL_MS },
    );
    for (const p of proxies) {
      await waitFor(
        `dict__lookup listed on ${p.id}`,
        async () => (await toolNames(p)).includes('dict__lookup'),
        {
          timeoutMs: CHANGE_MS,
        },
      );
      const result = await (await client(p)).callTool({ name: 'dict__say', arguments: { message: 'hi' } });
      expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
    }
    await kubectl(['delete', '-n', appsNs, 'mcps', 'dict', '--wait=false']);
  });

  it('refuses stdio outside the allowed namespaces, saying how to allow it', async () => {
    await apply(otherNs, [calc('calc')]);
    const obj = await waitFor(
      'Accepted=False',
      async () => {
        const o = await get(otherNs, 'calc');
        return condition(o, 'Accepted')?.status === 'False' && o;
      },
      { timeoutMs: CHANGE_MS },
    );
    expect(condition(obj, 'Accepted')).toMatchObject({ reason: 'StdioNotAllowed' });
    expect(condition(obj, 'Accepted')?.message).toContain(`not allowed in namespace "${otherNs}"`);
    expect(condition(obj, 'Accepted')?.message).toContain('--stdio-namespaces');
    expect(condition(obj, 'Ready')?.status).toBe('False');
    for (const p of proxies) expect((await toolNames(p)).some((n) => n.startsWith(`${otherNs}`))).toBe(false);
  });

  it('names a missing Secret, serves once it exists, and pushes a rotated value', async () => {
    await apply(appsNs, [
      mcps('envy', {
        command: process.execPath,
        args: [everythingBin, 'stdio'],
        env: [{ name: 'ENVY_VALUE', valueFrom: { secretKeyRef: { name: 'envy-secret', key: 'value' } } }],
        tools: { include: ['get-env'] },
      }),
    ]);
    const rejected = await waitFor(
      'Accepted=False naming the Secret',
      async () => {
        const o = await get(appsNs, 'envy');
        return condition(o, 'Accepted')?.status === 'False' && o;
      },
      { timeoutMs: CHANGE_MS },
    );
    expect(condition(rejected, 'Accepted')).toMatchObject({ reason: 'ReferenceNotFound' });
    expect(condition(rejected, 'Accepted')?.message).toContain(
      `Secret "envy-secret" not found in namespace "${appsNs}"`,
    );

    const envOn = async (p: (typeof proxies)[number]): Promise<string> => {
      const result = await (await client(p)).callTool({ name: 'envy__get-env', arguments: {} });
      return JSON.stringify(result.content);
    };
    await kubectl([
      'create',
      'secret',
      'generic',
      'envy-secret',
      '-n',
      appsNs,
      '--from-literal=value=first-value',
    ]);
    for (const p of proxies) {
      await waitFor(`the Secret's value on ${p.id}`, async () => (await envOn(p)).includes('first-value'), {
        timeoutMs: CHANGE_MS,
        intervalMs: 100,
      });
    }
    await kubectl([
      'create',
      'secret',
      'generic',
      'envy-secret',
      '-n',
      appsNs,
      '--from-literal=value=rotated-value',
      '--dry-run=client',
      '-o',
      'yaml',
    ]).then((r) => kubectl(['apply', '-n', appsNs, '-f', '-'], { input: r.stdout }));
    for (const p of proxies) {
      await waitFor(`the rotated value on ${p.id}`, async () => (await envOn(p)).includes('rotated-value'), {
        timeoutMs: CHANGE_MS,
        intervalMs: 100,
      });
    }
  });

  it('gives Conflict to the later of two servers with the same prefix, and only to it', async () => {
    await kubectl(['create', 'secret', 'generic', 'first-secret', '-n', appsNs, '--from-literal=v=1']);
    const first = () =>
      calc('first', {
        prefix: 'shared',
        env: [{ name: 'FIRST', valueFrom: { secretKeyRef: { name: 'first-secret', key: 'v' } } }],
      });
    await apply(appsNs, [first()]);
    await waitFor(
      'first Ready',
      async () => condition(await get(appsNs, 'first'), 'Ready')?.status === 'True',
      {
        timeoutMs: CHANGE_MS,
      },
    );
    await apply(appsNs, [mcps('second', { url: 'http://127.0.0.1:3001/mcp', prefix: 'shared' })]);
    const second = await waitFor(
      'Conflict on second',
      async () => {
        const o = await get(appsNs, 'second');
        return condition(o, 'Conflict')?.status === 'True' && o;
      },
      { timeoutMs: CHANGE_MS },
    );
    expect(condition(second, 'Conflict')?.message).toContain(`McpServer ${appsNs}/first`);
    expect(condition(second, 'Ready')).toMatchObject({ status: 'False', reason: 'PrefixConflict' });
    const events = await eventsOnceNaming('second', 'PrefixConflict');
    expect(events).toContain('Warning');
    const firstObj = await get(appsNs, 'first');
    expect(condition(firstObj, 'Conflict')).toBeUndefined();
    expect(condition(firstObj, 'Ready')?.status).toBe('True');
    // The exposed names stay the first one's.
    for (const p of proxies) {
      const names = await toolNames(p);
      expect(names).toContain('shared__add');
      expect(names).not.toContain('shared__echo');
    }

    // The first one loses Accepted for a while (its Secret is gone): it still holds the prefix, so
    // the later one does not take it over and the names do not move.
    await kubectl(['delete', 'secret', 'first-secret', '-n', appsNs]);
    await waitFor(
      'first Accepted=False',
      async () => condition(await get(appsNs, 'first'), 'Accepted')?.status === 'False',
      { timeoutMs: CHANGE_MS },
    );
    for (const p of proxies) {
      await waitFor(
        `shared__add gone from ${p.id}`,
        async () => !(await toolNames(p)).includes('shared__add'),
        {
          timeoutMs: CHANGE_MS,
          intervalMs: 50,
        },
      );
      expect((await toolNames(p)).some((n) => n.startsWith('shared__'))).toBe(false);
    }
    const stillSecond = await get(appsNs, 'second');
    expect(condition(stillSecond, 'Conflict')).toMatchObject({ status: 'True' });
    expect(condition(stillSecond, 'Conflict')?.message).toContain(`McpServer ${appsNs}/first`);
    await kubectl(['create', 'secret', 'generic', 'first-secret', '-n', appsNs, '--from-literal=v=1']);
    for (const p of proxies) {
      await waitFor(`shared__add back on ${p.id}`, async () => (await toolNames(p)).includes('shared__add'), {
        timeoutMs: CHANGE_MS,
        intervalMs: 50,
      });
      expect(await toolNames(p)).not.toContain('shared__echo');
    }
  });

  it('turns Ready False, naming the failure, soon after a URL server goes away, and True once it is back', async () => {
    if (!net) throw new Error('no network namespace');
    const wrapped = net.wrap(process.execPath, [everythingBin, 'streamableHttp']);
    const serveRemote = async (): Promise<Started> => {
      const remote = start(wrapped[0], wrapped[1], { PORT: '3002' });
      await waitForOutput(remote, /listening on port 3002/i, 20_000);
      return remote;
    };
    let remote = await serveRemote();
    await apply(appsNs, [mcps('flaky', { url: 'http://127.0.0.1:3002/mcp', transport: 'streamable-http' })]);
    await waitFor(
      'flaky Ready',
      async () => condition(await get(appsNs, 'flaky'), 'Ready')?.status === 'True',
      { timeoutMs: CHANGE_MS },
    );

    await remote.stop();
    const stopped = Date.now();
    // A proxy notices within its liveness interval (a refused connection fails the ping at once),
    // the operator within its next status read; then one reconcile and one status write.
    const FRESH_MS = LIVENESS_MS + STATUS_INTERVAL_SECONDS * 1000 * 2 + 5_000;
    const broken = await waitFor(
      'flaky Ready=False',
      async () => {
        const o = await get(appsNs, 'flaky');
        return condition(o, 'Ready')?.status === 'False' && o;
      },
      { timeoutMs: FRESH_MS, intervalMs: 100 },
    );
    const brokenMs = Date.now() - stopped;
    expect(condition(broken, 'Ready')).toMatchObject({ reason: 'BackendFailed' });
    expect(condition(broken, 'Ready')?.message).toMatch(
      /proxy-[ab]: .*(no answer to ping|ECONNREFUSED|fetch failed)/,
    );
    expect(broken.status?.lastError).toMatch(/no answer to ping|ECONNREFUSED|fetch failed/);
    const warned = await eventsOnceNaming('flaky', 'BackendFailed');
    expect(warned).toContain('Warning');

    remote = await serveRemote();
    const restarted = Date.now();
    // The proxies reconnect with backoff (0.5 s doubling, at most 30 s apart).
    await waitFor(
      'flaky Ready again',
      async () => condition(await get(appsNs, 'flaky'), 'Ready')?.status === 'True',
      { timeoutMs: 30_000 + FRESH_MS, intervalMs: 100 },
    );
    console.log(
      `[operator e2e] remote server killed: Ready=False in status after ${brokenMs} ms; ` +
        `restarted: Ready=True after ${Date.now() - restarted} ms (status read every ${STATUS_INTERVAL_SECONDS} s, ping every ${LIVENESS_MS} ms)`,
    );
    await kubectl(['delete', '-n', appsNs, 'mcps', 'flaky', '--wait=false']);
    await remote.stop();
  });

  it('reports a proxy that is down as Synced 1/2 naming it, and restores a restarted one', async () => {
    const b = proxies[1];
    if (!b?.proc) throw new Error('no proxy b');
    await dropClient(b.id);
    await b.proc.stop();
    const obj = await waitFor(
      'Synced=False 1/2 naming proxy-b',
      async () => {
        const o = await get(appsNs, 'calc');
        const synced = condition(o, 'Synced');
        return synced?.status === 'False' && synced.message.includes('1/2') && o;
      },
      { timeoutMs: HEAL_MS },
    );
    expect(condition(obj, 'Synced')?.message).toMatch(/proxy-b: .*(ECONNREFUSED|no answer)/);
    expect(obj.status?.replicas).toEqual({ synced: 1, total: 2 });

    const emptyConfig = join(dir, 'empty.json');
    await startProxy(b, emptyConfig);
    await waitFor('math__add back on proxy-b', async () => (await toolNames(b)).includes('math__add'), {
      timeoutMs: HEAL_MS,
      intervalMs: 100,
    });
    await waitFor(
      'Synced 2/2 again',
      async () => condition(await get(appsNs, 'calc'), 'Synced')?.message === '2/2 replicas',
      { timeoutMs: HEAL_MS },
    );
  });

  it('releases a server deleted while a replica hangs, and that replica drops it once it answers again', async () => {
    const [a, b] = proxies;
    const pid = b?.proc?.child.pid;
    if (!a || !b || pid === undefined) throw new Error('two running proxies');
    await apply(appsNs, [echoServer]);
    for (const p of proxies)
      await waitFor(`echo__echo on ${p.id}`, async () => (await toolNames(p)).includes('echo__echo'), {
        timeoutMs: CHANGE_MS,
        intervalMs: 50,
      });
    await dropClient(b.id);
    // Frozen, not killed: proxy-b keeps what it holds and stays in the EndpointSlice, but answers
    // nothing, so every admin call to it ends at the operator's timeout. (A killed proxy would
    // refuse at once and come back empty, which would prove nothing about its next sync.)
    process.kill(pid, 'SIGSTOP');
    let releaseMs = -1;
    try {
      const deleted = Date.now();
      await kubectl(['delete', '-n', appsNs, 'mcps', 'echo', '--wait=false']);
      await waitFor(
        'echo__echo gone from proxy-a',
        async () => !(await toolNames(a)).includes('echo__echo'),
        {
          timeoutMs: CHANGE_MS,
          intervalMs: 50,
        },
      );
      await waitFor('the finalizer released (echo gone)', () => gone(appsNs, 'echo'), {
        timeoutMs: RELEASE_MS,
        intervalMs: 100,
      });
      releaseMs = Date.now() - deleted;
      // Released knowingly, with the hung replica left to its next full sync.
      expect(operator.output()).toContain(`mcpserver released mcpserver=${appsNs}/echo unreachable=1`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    console.log(
      `[operator e2e] finalizer released ${releaseMs} ms after kubectl delete with proxy-b frozen ` +
        `(admin timeout ${ADMIN_TIMEOUT_MS} ms)`,
    );
    await waitFor('echo gone from proxy-b', async () => !(await adminServers(b)).includes(`${appsNs}_echo`), {
      timeoutMs: HEAL_MS,
      intervalMs: 100,
    });
    // The same process all along: the operator's sync removed it, not a restart.
    expect(b.proc?.child.pid).toBe(pid);
    expect(b.proc?.child.exitCode).toBeNull();
    expect(await toolNames(b)).not.toContain('echo__echo');
  }, 150_000);

  describe('spec.deployment', () => {
    interface Owned {
      metadata: {
        uid: string;
        generation?: number;
        ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
      };
      spec: { template?: { metadata?: { annotations?: Record<string, string> } } } & Record<string, unknown>;
    }
    const CONFIG_HASH = 'multi-mcp.io/config-hash';
    const deployedSpec = {
      deployment: {
        image: 'ghcr.io/example/weather-mcp:1.0',
        port: 9000,
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'weather', key: 'token' } } }],
      },
    };
    const getOwned = (kind: string) =>
      kubectlJson<Owned>(['get', '-n', appsNs, kind, 'mcp-deployed'], { allowFailure: true }).catch(
        () => undefined,
      );
    const gone = async (kind: string) => {
      const r = await kubectl(['get', '-n', appsNs, kind, 'mcp-deployed'], { allowFailure: true });
      return r.code !== 0 && r.stderr.includes('NotFound');
    };
    const setSecret = (token: string) =>
      kubectl([
        'create',
        'secret',
        'generic',
        'weather',
        '-n',
        appsNs,
        `--from-literal=token=${token}`,
        '--dry-run=client',
        '-o',
        'yaml',
      ]).then((r) => kubectl(['apply', '-n', appsNs, '-f', '-'], { input: r.stdout }));
    const configHash = (d: Owned | undefined) => d?.spec.template?.metadata?.annotations?.[CONFIG_HASH];

    it('refuses it while a Secret its env reads is missing, naming it, and runs nothing', async () => {
      await apply(appsNs, [mcps('deployed', deployedSpec)]);
      const rejected = await waitFor(
        'Accepted=False naming the Secret',
        async () => {
          const o = await get(appsNs, 'deployed');
          return condition(o, 'Accepted')?.status === 'False' && o;
        },
        { timeoutMs: CHANGE_MS },
      );
      expect(condition(rejected, 'Accepted')).toMatchObject({
        reason: 'ReferenceNotFound',
        message: `spec.deployment.env[0].valueFrom.secretKeyRef: Secret "weather" not found in namespace "${appsNs}"`,
      });
      expect(condition(rejected, 'Ready')?.status).toBe('False');
      expect(await gone('deployment')).toBe(true);
      expect(await gone('service')).toBe(true);
    });

    it('runs it as a Deployment and Service it owns once the Secret exists, registered by the Service URL', async () => {
      await setSecret('first-token');
      const owner = await get(appsNs, 'deployed');
      const deployment = await waitFor('the Deployment', () => getOwned('deployment'), {
        timeoutMs: CHANGE_MS,
      });
      const uid = (owner.metadata as { uid?: string }).uid;
      expect(deployment.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'McpServer', name: 'deployed', uid, controller: true }),
      ]);
      expect(JSON.stringify(deployment.spec)).toContain('"image":"ghcr.io/example/weather-mcp:1.0"');
      expect(JSON.stringify(deployment.spec)).toContain('"containerPort":9000');
      // Secret references stay references for the kubelet to resolve; only a hash of the value shows.
      expect(JSON.stringify(deployment.spec)).toContain('"secretKeyRef":{"key":"token","name":"weather"}');
      expect(configHash(deployment)).toMatch(/^[0-9a-f]{16}$/);
      expect(JSON.stringify(deployment)).not.toContain('first-token');
      const svc = await kubectlJson<Owned>(['get', '-n', appsNs, 'service', 'mcp-deployed']);
      expect(svc.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'McpServer', uid });

      for (const p of proxies) {
        const listed = await waitFor(
          `the Service URL on ${p.id}`,
          async () => {
            const r = await fetch(`${p.url}/mcp_servers`, { headers: { authorization: `Bearer ${TOKEN}` } });
            const body = (await r.json()) as { servers: { name: string; spec: { url?: string } }[] };
            return body.servers.find((b) => b.name === `${appsNs}_deployed`);
          },
          { timeoutMs: CHANGE_MS },
        );
        expect(listed.spec.url).toBe(`http://mcp-deployed.${appsNs}.svc:9000/mcp`);
      }
      // No kubelet here: the Deployment never becomes available by itself, and the status says so.
      const status = await waitFor(
        'Ready=False DeploymentNotAvailable',
        async () => {
          const o = await get(appsNs, 'deployed');
          return condition(o, 'Ready')?.reason === 'DeploymentNotAvailable' && o;
        },
        { timeoutMs: CHANGE_MS },
      );
      expect(condition(status, 'Accepted')?.status).toBe('True');
      expect(condition(status, 'Ready')?.message).toContain('0/1 replicas available');
    });

    it('rolls the pods when the Secret rotates: a new hash in the pod template', async () => {
      const before = configHash(await getOwned('deployment'));
      expect(before).toBeDefined();
      await setSecret('rotated-token');
      const after = await waitFor(
        'a new config hash in the pod template',
        async () => {
          const hash = configHash(await getOwned('deployment'));
          return hash !== undefined && hash !== before && hash;
        },
        { timeoutMs: CHANGE_MS },
      );
      expect(after).toMatch(/^[0-9a-f]{16}$/);
    });

    it('moves Ready from the Deployment to the backend connection once the Deployment is available', async () => {
      // No kubelet, so no pods: the Deployment's status is written here as its controller would
      // (an accepted stand-in). What cannot be shown here is a Ready=True: the proxies would then
      // connect to the Service's cluster DNS name, and there is no cluster DNS (nor a pod behind it).
      // What can be shown is that the status stops blaming the Deployment and reports, from the
      // replicas, the proxies' real attempt to connect.
      expect(condition(await get(appsNs, 'deployed'), 'Ready')?.reason).toBe('DeploymentNotAvailable');
      const deployment = await getOwned('deployment');
      await kubectl([
        'patch',
        'deployment',
        'mcp-deployed',
        '-n',
        appsNs,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            observedGeneration: deployment?.metadata.generation,
            replicas: 1,
            updatedReplicas: 1,
            readyReplicas: 1,
            availableReplicas: 1,
          },
        }),
      ]);
      const obj = await waitFor(
        'Ready=False from the replicas, not the Deployment',
        async () => {
          const o = await get(appsNs, 'deployed');
          return condition(o, 'Ready')?.reason === 'BackendFailed' && o;
        },
        { timeoutMs: CHANGE_MS },
      );
      expect(condition(obj, 'Ready')?.status).toBe('False');
      expect(condition(obj, 'Ready')?.message).toMatch(/^ready on 0\/2 replicas; proxy-a: .+; proxy-b: .+/);
      expect(obj.status?.lastError).toBeDefined();
    });

    it('deletes the Deployment and Service once the McpServer no longer wants them', async () => {
      await apply(appsNs, [mcps('deployed', { ...deployedSpec, disabled: true })]);
      await waitFor(
        'Deployment and Service gone while disabled',
        async () => (await gone('deployment')) && (await gone('service')),
        {
          timeoutMs: CHANGE_MS,
        },
      );
      await apply(appsNs, [mcps('deployed', deployedSpec)]);
      await waitFor('the Deployment back once enabled', () => getOwned('deployment'), {
        timeoutMs: CHANGE_MS,
      });

      await apply(appsNs, [mcps('deployed', { url: 'http://127.0.0.1:3001/mcp' })]);
      await waitFor(
        'Deployment and Service gone in url mode',
        async () => (await gone('deployment')) && (await gone('service')),
        {
          timeoutMs: CHANGE_MS,
        },
      );
      for (const p of proxies) {
        await waitFor(
          `deployed__echo by URL on ${p.id}`,
          async () => (await toolNames(p)).includes('deployed__echo'),
          {
            timeoutMs: CHANGE_MS,
            intervalMs: 100,
          },
        );
      }

      // Deleted: owner references would do it where a garbage collector runs; none runs here, and
      // the operator does not rely on one.
      await apply(appsNs, [mcps('deployed', deployedSpec)]);
      await waitFor('the Deployment back in deployment mode', () => getOwned('deployment'), {
        timeoutMs: CHANGE_MS,
      });
      await kubectl(['delete', '-n', appsNs, 'mcps', 'deployed', '--wait=false']);
      await waitFor(
        'Deployment and Service gone with the McpServer',
        async () => (await gone('deployment')) && (await gone('service')),
        {
          timeoutMs: CHANGE_MS,
        },
      );
      await waitFor(
        'the McpServer to be gone',
        async () =>
          (await kubectl(['get', '-n', appsNs, 'mcps', 'deployed'], { allowFailure: true })).code !== 0,
        { timeoutMs: CHANGE_MS },
      );
    });
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    expect((await fetch(`${health}/healthz`)).status).toBe(200);
    const ready = await fetch(`${health}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${health}/metrics`)).text();
    expect(metrics).toMatch(/multi_mcp_operator_reconciles_total\{result="success"\} [1-9]/);
    expect(metrics).toMatch(/multi_mcp_operator_admin_requests_total\{method="PUT"\} [1-9]/);
    expect(metrics).toContain('multi_mcp_operator_proxy_replicas 2');
    expect(metrics).toContain('multi_mcp_operator_leader 1');
  });

  it('hands over to a standby operator within the lease time, without flapping or redundant pushes', async () => {
    const standby = start(process.execPath, operatorArgs);
    const [, standbyHealth = ''] = await waitForOutput(standby, /health=(http:\/\/127\.0\.0\.1:\d+)/, 20_000);
    await waitForOutput(standby, /waiting for the lease/, 20_000);
    const conditionsBefore = await conditionTimes();
    const warningsBefore = await warnings();
    // Clients must see the same tools the whole time (no flapping while the leader changes).
    let watching = true;
    const gaps: string[] = [];
    const watcher = (async () => {
      while (watching) {
        for (const p of proxies) {
          const names = await toolNames(p).catch((e: unknown) => [`error: ${String(e)}`]);
          if (!names.includes('remote__echo') || !names.includes('math__add'))
            gaps.push(`${p.id}: ${names.join(',')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const logStart = proxies.map((p) => p.proc?.output().length ?? 0);
    const killed = Date.now();
    const gone = new Promise((resolve) => operator.child.once('exit', resolve));
    operator.child.kill('SIGKILL');
    await gone;
    // Counted from the proxies' side, from the moment the old leader is gone.
    const requestsBefore = await Promise.all(proxies.map(adminRequests));
    await waitForOutput(standby, /leading/, LEASE_SECONDS * 1000 * 3 + 5_000);
    const takeoverMs = Date.now() - killed;
    console.log(
      `[operator e2e] standby took over ${takeoverMs} ms after the leader was killed (lease ${LEASE_SECONDS} s)`,
    );
    expect(takeoverMs).toBeLessThan(LEASE_SECONDS * 1000 * 2 + 2_000);
    const lease = await kubectlJson<{ spec: { holderIdentity: string } }>([
      'get',
      '-n',
      leaseNs,
      'lease',
      'multi-mcp-operator',
    ]);
    expect(standby.output()).toContain(`identity=${lease.spec.holderIdentity}`);
    await waitForOutput(standby, /caches synced/, 20_000);
    // The new leader's first full sync has reached every replica, and it has reconciled.
    await waitFor(
      'the new leader synced every replica and reconciled',
      async () => {
        const now = await Promise.all(proxies.map(adminRequests));
        const metrics = await (await fetch(`${standbyHealth}/metrics`)).text();
        return (
          now.every(
            (n, i) => (n['PUT /mcp_servers'] ?? 0) > (requestsBefore[i]?.['PUT /mcp_servers'] ?? 0),
          ) && /multi_mcp_operator_reconciles_total\{result="success"\} [1-9]/.test(metrics)
        );
      },
      { timeoutMs: CHANGE_MS },
    );
    // Then three status reads with nothing changing, watched: nothing may be pushed or written.
    // Stop watching before the change below, which reconnects the backend on purpose.
    await new Promise((r) => setTimeout(r, STATUS_INTERVAL_SECONDS * 1000 * 3 + 500));
    watching = false;
    await watcher;
    expect(gaps).toEqual([]);
    const requestsAfter = await Promise.all(proxies.map(adminRequests));
    for (const [i, p] of proxies.entries()) {
      const delta = (what: string) => (requestsAfter[i]?.[what] ?? 0) - (requestsBefore[i]?.[what] ?? 0);
      console.log(
        `[operator e2e] admin requests to ${p.id} across the takeover: ` +
          Object.keys(requestsAfter[i] ?? {})
            .map((k) => `${k} +${delta(k)}`)
            .join(', '),
      );
      // Allowed, exactly: the new leader does not know what a replica holds (the proxy keeps no
      // revision to read), so it sends its whole set once; if its McpVirtualServer cache is listed
      // only after that push, the set's revision changes and it sends it once more, with the views
      // (PUT /virtual_servers, at most once).
      // No removal, no single-server push, and nothing more while nothing changes.
      expect(delta('PUT /mcp_servers')).toBeGreaterThanOrEqual(1);
      expect(delta('PUT /mcp_servers')).toBeLessThanOrEqual(2);
      expect(delta('PUT /virtual_servers')).toBeLessThanOrEqual(1);
      expect(delta('PUT /mcp_servers/:name') + delta('DELETE /mcp_servers/:name')).toBe(0);
    }
    // No status flapped: no condition moved, no Warning Event, no status write at all.
    expect(await conditionTimes()).toEqual(conditionsBefore);
    expect(await warnings()).toEqual(warningsBefore);
    const standbyMetrics = await (await fetch(`${standbyHealth}/metrics`)).text();
    expect(standbyMetrics).toMatch(/^multi_mcp_operator_status_writes_total 0$/m);
    // And those pushes changed nothing on the proxies: no backend was created, updated (reconnected)
    // or removed because the leader changed.
    const syncs = proxies.flatMap((p, i) =>
      (p.proc?.output().slice(logStart[i]) ?? '').split('\n').filter((l) => l.includes('owner synced')),
    );
    expect(syncs.length).toBeGreaterThan(0);
    for (const line of syncs) expect(line).toMatch(/created=0 updated=0 unchanged=\d+ removed=0/);
    // The new leader serves changes.
    await apply(appsNs, [mcps('remote', { url: 'http://127.0.0.1:3001/mcp', tools: { include: ['echo'] } })]);
    for (const p of proxies) {
      await waitFor(
        `remote filtered on ${p.id}`,
        async () => {
          const names = (await toolNames(p)).filter((n) => n.startsWith('remote__'));
          return names.join() === 'remote__echo';
        },
        { timeoutMs: CHANGE_MS, intervalMs: 50 },
      );
    }
    operator = standby;
  });

  it('is not ready, and says why, without the permissions config/rbac grants', async () => {
    // The same operator as a ServiceAccount nothing is bound to: every list is forbidden.
    const kubeconfig = parse(readFileSync(k8s().kubeconfig, 'utf8')) as {
      users: { user: Record<string, unknown> }[];
    };
    for (const u of kubeconfig.users) u.user['as'] = `system:serviceaccount:${leaseNs}:unbound`;
    const unboundKubeconfig = join(dir, 'unbound.kubeconfig');
    writeFileSync(unboundKubeconfig, stringify(kubeconfig));
    const args = operatorArgs.map((a, i) => (operatorArgs[i - 1] === '--kubeconfig' ? unboundKubeconfig : a));
    const unbound = start(process.execPath, [...args, '--no-leader-elect']);
    try {
      const [, url] = await waitForOutput(unbound, /health=(http:\/\/127\.0\.0\.1:\d+)/, 20_000);
      await waitForOutput(unbound, /list failed; retrying .*HTTP 403: .*cannot list resource/, 20_000);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toContain('caches not synced yet');
      // The log names who was refused what (the logger escapes the quotes).
      expect(unbound.output().replaceAll('\\"', '"')).toContain(
        `User "system:serviceaccount:${leaseNs}:unbound" cannot list resource`,
      );
    } finally {
      await unbound.stop();
    }
  });

  it('removes a deleted server from both proxies, then releases the finalizer', async () => {
    await kubectl(['delete', '-n', appsNs, 'mcps', 'calc', '--wait=false']);
    for (const p of proxies) {
      await waitFor(
        `math__* gone from ${p.id}`,
        async () => !(await toolNames(p)).some((n) => n.startsWith('math__')),
        {
          timeoutMs: CHANGE_MS,
          intervalMs: 50,
        },
      );
    }
    await waitFor(
      'the McpServer to be gone',
      async () => {
        const r = await kubectl(['get', '-n', appsNs, 'mcps', 'calc'], { allowFailure: true });
        return r.code !== 0 && r.stderr.includes('NotFound');
      },
      { timeoutMs: CHANGE_MS },
    );
    // The freed prefix goes to nobody else by accident, and other servers are untouched.
    for (const p of proxies) expect(await toolNames(p)).toContain('everything__echo');
  });
});
