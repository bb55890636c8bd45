import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, fixture, repoRoot } from '../e2e/support/paths.js';
import { freePort, start, stopAll, waitForOutput, waitUntil } from '../e2e/support/processes.js';
import { freshNamespace, helm, kubectl, kubectlJson } from '../harness/k8s.js';
import { canonicalRules, findManifest, parseManifests, podSpec } from '../harness/manifests.js';
import type { Manifest } from '../harness/manifests.js';

// charts/multi-mcp with the real helm and kube-apiserver of test/controlplane.
const chart = join(repoRoot, 'charts/multi-mcp');
const home = mkdtempSync(join(tmpdir(), 'multi-mcp-chart-'));
const h = (args: string[], allowFailure = false) => helm(args, { helmHome: home, allowFailure });
const render = async (ns: string, set: string[] = []) =>
  parseManifests((await h(['template', 'mm', chart, '--namespace', ns, ...set])).stdout);
const secretData = (o: Manifest, key: string) =>
  Buffer.from((o as unknown as { data: Record<string, string> }).data[key] ?? '', 'base64').toString();

afterAll(async () => {
  await stopAll();
  rmSync(home, { recursive: true, force: true });
});

describe('charts/multi-mcp', () => {
  it('lints clean and ships the CRD that npm run gen:crds generates', async () => {
    const lint = await h(['lint', chart, '--strict']);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(readFileSync(join(chart, 'crds/mcpservers.multi-mcp.io.yaml'), 'utf8')).toBe(
      readFileSync(join(repoRoot, 'crds/mcpservers.multi-mcp.io.yaml'), 'utf8'),
    );
  });

  it('renders by default: NodePort 30080 for MCP only, the operator finds replicas through the admin Service', async () => {
    const objects = await render('gw');
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole/mm-multi-mcp-operator-gw',
        'ClusterRoleBinding/mm-multi-mcp-operator-gw',
        'ConfigMap/mm-multi-mcp-proxy-config',
        'Deployment/mm-multi-mcp-operator',
        'Deployment/mm-multi-mcp-proxy',
        'NetworkPolicy/mm-multi-mcp-proxy-admin',
        'PodDisruptionBudget/mm-multi-mcp-proxy',
        'Role/mm-multi-mcp-operator-leader-election',
        'RoleBinding/mm-multi-mcp-operator-leader-election',
        'Secret/mm-multi-mcp-admin-token',
        'Secret/mm-multi-mcp-session-key',
        'Service/mm-multi-mcp-proxy',
        'Service/mm-multi-mcp-proxy-admin',
        'ServiceAccount/mm-multi-mcp-operator',
        'ServiceAccount/mm-multi-mcp-proxy',
      ].sort(),
    );
    const mcp = findManifest(objects, 'Service', 'mm-multi-mcp-proxy') as unknown as {
      spec: { type: string; sessionAffinity: string; ports: { name: string; nodePort?: number }[] };
    };
    expect(mcp.spec.type).toBe('NodePort');
    expect(mcp.spec.sessionAffinity).toBe('None');
    expect(mcp.spec.ports).toEqual([{ name: 'mcp', port: 8080, targetPort: 'mcp', nodePort: 30080 }]);
    const admin = findManifest(objects, 'Service', 'mm-multi-mcp-proxy-admin') as unknown as {
      spec: { type: string; ports: { name: string }[] };
    };
    expect(admin.spec.type).toBe('ClusterIP');
    expect(admin.spec.ports.map((p) => p.name)).toEqual(['admin']);

    const operator = podSpec(findManifest(objects, 'Deployment', 'mm-multi-mcp-operator')).containers[0];
    expect(operator?.args).toContain('--proxy-service=$(POD_NAMESPACE)/mm-multi-mcp-proxy-admin');
    expect(operator?.args).toContain('--proxy-port-name=admin');
    expect(operator?.args).toContain('--stdio-namespaces=$(POD_NAMESPACE)');
    expect(operator?.args).not.toContain('--no-leader-elect');

    const proxy = podSpec(findManifest(objects, 'Deployment', 'mm-multi-mcp-proxy'));
    expect(proxy.containers[0]?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'mcp' });
    expect(proxy.containers[0]?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'mcp' });
    for (const c of [...proxy.containers, operator]) {
      expect(c?.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    }
    // Only the operator's pods reach the admin port; MCP stays open.
    const policy = findManifest(objects, 'NetworkPolicy', /-admin$/) as unknown as {
      spec: { ingress: { from?: unknown[]; ports: { port: string }[] }[] };
    };
    expect(policy.spec.ingress).toEqual([
      { ports: [{ port: 'mcp' }] },
      {
        from: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'multi-mcp-operator',
                'app.kubernetes.io/instance': 'mm',
              },
            },
          },
        ],
        ports: [{ port: 'admin' }],
      },
    ]);
  });

  it('renders non-default values: port, replicas, allowlist, initial servers, ServiceMonitor, no NetworkPolicy', async () => {
    const objects = await render('gw', [
      '--set=proxy.service.nodePort=30123',
      '--set=proxy.service.sessionAffinity=ClientIP',
      '--set=proxy.replicas=3',
      '--set=operator.stdioNamespaces={gw,tools}',
      '--set=operator.watchNamespaces={tools}',
      '--set=operator.leaderElect=false',
      '--set=networkPolicy.enabled=false',
      '--set=serviceMonitor.enabled=true',
      '--set=image.registry=registry.example.com/team,image.tag=1.2.3',
      '--set-json=proxy.mcpServers={"calc":{"command":"node","args":["calc.js"]}}',
      '--set-json=proxy.virtualServers={"math":{"backends":["calc"]}}',
    ]);
    const mcp = findManifest(objects, 'Service', 'mm-multi-mcp-proxy') as unknown as {
      spec: { sessionAffinity: string; ports: { nodePort?: number }[] };
    };
    expect(mcp.spec.ports[0]?.nodePort).toBe(30123);
    expect(mcp.spec.sessionAffinity).toBe('ClientIP');
    const proxy = findManifest(objects, 'Deployment', 'mm-multi-mcp-proxy') as unknown as {
      spec: { replicas: number };
    };
    expect(proxy.spec.replicas).toBe(3);
    const proxyPod = podSpec(proxy as unknown as Manifest);
    expect(proxyPod.containers[0]?.image).toBe('registry.example.com/team/multi-mcp-proxy:1.2.3');
    const operator = podSpec(findManifest(objects, 'Deployment', 'mm-multi-mcp-operator')).containers[0];
    expect(operator?.args).toEqual(
      expect.arrayContaining(['--stdio-namespaces=gw,tools', '--namespaces=tools', '--no-leader-elect']),
    );
    const config = findManifest(objects, 'ConfigMap', 'mm-multi-mcp-proxy-config') as unknown as {
      data: { 'mcp.json': string };
    };
    expect(JSON.parse(config.data['mcp.json'])).toEqual({
      mcpServers: { calc: { command: 'node', args: ['calc.js'] } },
      virtualServers: { math: { backends: ['calc'] } },
    });
    expect(objects.some((o) => o.kind === 'NetworkPolicy')).toBe(false);
    expect(findManifest(objects, 'ServiceMonitor', 'mm-multi-mcp-proxy')).toMatchObject({
      spec: {
        endpoints: [{ port: 'admin', bearerTokenSecret: { name: 'mm-multi-mcp-admin-token', key: 'token' } }],
      },
    });
  });

  it('rejects bad values through values.schema.json, naming the field', async () => {
    const port = await h(['template', 'mm', chart, '--set=proxy.service.nodePort=80'], true);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain("at '/proxy/service/nodePort': minimum: got 80, want 30,000");
    const typo = await h(['template', 'mm', chart, '--set=proxy.replica=3'], true);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("additional properties 'replica' not allowed");
    const server = await h(['template', 'mm', chart, '--set-json=proxy.mcpServers={"x":{"args":[]}}'], true);
    expect(server.code).not.toBe(0);
    expect(server.stderr).toContain("at '/proxy/mcpServers/x'");
  });

  it('carries the RBAC rules of config/rbac, the ones the operator end-to-end test runs under', async () => {
    const objects = await render('gw');
    const shipped = parseManifests(
      ['role.yaml', 'leader_election_role.yaml']
        .map((f) => readFileSync(join(repoRoot, 'config/rbac', f), 'utf8'))
        .join('\n---\n'),
    );
    expect(canonicalRules(findManifest(objects, 'ClusterRole', /-operator-gw$/))).toEqual(
      canonicalRules(findManifest(shipped, 'ClusterRole', 'multi-mcp-operator')),
    );
    expect(canonicalRules(findManifest(objects, 'Role', /-leader-election$/))).toEqual(
      canonicalRules(findManifest(shipped, 'Role', 'multi-mcp-operator-leader-election')),
    );
  });

  it('applies server-side into a fresh namespace of the real API server', async () => {
    const ns = await freshNamespace('chart');
    const rendered = await h(['template', 'mm', chart, '--namespace', ns]);
    const applied = await kubectl(
      ['apply', '--server-side', '--field-manager=chart-test', '-n', ns, '-f', '-'],
      {
        input: rendered.stdout,
      },
    );
    try {
      expect(applied.stdout).toContain('deployment.apps/mm-multi-mcp-proxy serverside-applied');
      expect(applied.stdout).toContain(
        'networkpolicy.networking.k8s.io/mm-multi-mcp-proxy-admin serverside-applied',
      );
      const svc = await kubectlJson<{ spec: { ports: { nodePort: number }[] } }>([
        'get',
        '-n',
        ns,
        'service',
        'mm-multi-mcp-proxy',
      ]);
      expect(svc.spec.ports[0]?.nodePort).toBe(30080);
      const deploy = await kubectlJson<{
        spec: { template: { spec: { containers: { args: string[] }[] } } };
      }>(['get', '-n', ns, 'deployment', 'mm-multi-mcp-operator']);
      expect(deploy.spec.template.spec.containers[0]?.args).toContain(
        '--proxy-service=$(POD_NAMESPACE)/mm-multi-mcp-proxy-admin',
      );
    } finally {
      // Cluster-scoped objects outlive the namespace; the NodePort would block the next install.
      await kubectl(['delete', '-n', ns, '-f', '-', '--wait=false', '--ignore-not-found'], {
        input: rendered.stdout,
      });
    }
  });

  it('keeps the generated admin token and session key across helm install and upgrade', async () => {
    const ns = await freshNamespace('chart-install');
    // A NodePort is cluster-wide: let the API server pick one so parallel runs do not collide.
    await h(['install', 'mm', chart, '-n', ns, '--set=proxy.service.type=ClusterIP']);
    try {
      const read = async () => {
        const list = await kubectlJson<{ items: Manifest[] }>([
          'get',
          'secrets',
          '-n',
          ns,
          '-l',
          'app.kubernetes.io/instance=mm',
        ]);
        return {
          token: secretData(findManifest(list.items, 'Secret', 'mm-multi-mcp-admin-token'), 'token'),
          key: secretData(findManifest(list.items, 'Secret', 'mm-multi-mcp-session-key'), 'key'),
        };
      };
      const before = await read();
      expect(before.token).toMatch(/^[A-Za-z0-9]{48}$/);
      expect(before.key).toMatch(/^[A-Za-z0-9]{64}$/);
      await h([
        'upgrade',
        'mm',
        chart,
        '-n',
        ns,
        '--set=proxy.service.type=ClusterIP',
        '--set=proxy.replicas=3',
      ]);
      const deploy = await kubectlJson<{ spec: { replicas: number } }>([
        'get',
        '-n',
        ns,
        'deployment',
        'mm-multi-mcp-proxy',
      ]);
      expect(deploy.spec.replicas).toBe(3);
      expect(await read()).toEqual(before);
      // Without lookup every render is fresh: the equality above is the chart's doing.
      const again = await render(ns);
      expect(secretData(findManifest(again, 'Secret', 'mm-multi-mcp-admin-token'), 'token')).not.toBe(
        before.token,
      );
    } finally {
      await h(['uninstall', 'mm', '-n', ns, '--wait=false']);
    }
  });

  it('starts the real proxy with the Deployment args, the generated Secrets and the ConfigMap', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const objects = await render('gw', [
      `--set=proxy.port=${port},proxy.adminPort=${adminPort}`,
      `--set-json=proxy.mcpServers=${JSON.stringify({ calculator: fixture('calculator.ts') })}`,
    ]);
    // The pod's volumes, as files: each mountPath becomes a directory of this temp root.
    const root = mkdtempSync(join(tmpdir(), 'multi-mcp-pod-'));
    const files: Record<string, [string, string]> = {
      '/etc/multi-mcp': [
        'mcp.json',
        (findManifest(objects, 'ConfigMap', /-config$/) as unknown as { data: Record<string, string> }).data[
          'mcp.json'
        ] ?? '',
      ],
      '/var/run/multi-mcp/admin-token': [
        'token',
        secretData(findManifest(objects, 'Secret', /-admin-token$/), 'token'),
      ],
      '/var/run/multi-mcp/session-key': [
        'key',
        secretData(findManifest(objects, 'Secret', /-session-key$/), 'key'),
      ],
    };
    for (const [mount, [name, content]] of Object.entries(files)) {
      mkdirSync(join(root, mount), { recursive: true });
      writeFileSync(join(root, mount, name), content);
    }
    const container = podSpec(findManifest(objects, 'Deployment', 'mm-multi-mcp-proxy')).containers[0];
    // Tests bind loopback only; everything else is the Deployment's.
    const args = (container?.args ?? []).map((a) =>
      a
        .replace(/^(--(admin-)?host)=0\.0\.0\.0$/, '$1=127.0.0.1')
        .replace(/=(\/etc|\/var\/run)\//, `=${root}$1/`),
    );
    expect(args).toContain('--admin-host=127.0.0.1');
    const proc = start(process.execPath, [cliPath, ...args], {}, repoRoot);
    try {
      await waitForOutput(proc, /listening/);
      const mcp = `http://127.0.0.1:${port}`;
      const admin = `http://127.0.0.1:${adminPort}`;
      await waitUntil(async () => (await fetch(`${mcp}/readyz`)).ok, 30_000, `${mcp}/readyz`);
      // The admin API is on its own port, behind the generated token; not on the MCP port.
      expect((await fetch(`${mcp}/mcp_servers`)).status).toBe(404);
      expect((await fetch(`${admin}/mcp_servers`)).status).toBe(401);
      const token = files['/var/run/multi-mcp/admin-token']?.[1] ?? '';
      const servers = await fetch(`${admin}/mcp_servers`, { headers: { authorization: `Bearer ${token}` } });
      expect(servers.status).toBe(200);
      expect(((await servers.json()) as { active_servers: string[] }).active_servers).toEqual(['calculator']);
    } finally {
      await proc.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
