/**
 * `npm run bench:operator`: 200 McpServers applied at once (one kubectl apply) against two proxy
 * replicas, on the real control plane, the real operator (`operator/dist`) and two real proxies with
 * their own addresses in a network namespace (root and iproute2 needed, as for the k8s tests).
 * Reports: time until every server is callable on both proxies and until every status is Ready,
 * p50/p99 apply-to-callable, and the memory of the operator and of each proxy. Targets (issue 7):
 * p50 < 1 s, all 200 Ready < 30 s — reported, not asserted. `--count N` changes the 200.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { v1Http } from '../e2e/support/clients.js';
import { cliPath, repoRoot } from '../e2e/support/paths.js';
import type { Started } from '../e2e/support/processes.js';
import { start, stopAll, waitForOutput } from '../e2e/support/processes.js';
import { buildControlPlane, startControlPlane } from '../harness/controlplane.js';
import { installCrds } from '../harness/global-setup.js';
import { run } from '../harness/kubectl.js';
import { createNetNamespace } from '../harness/netns.js';

const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 200;
const TOKEN = 'bench-admin-token';
const LIMIT_MS = 120_000;
// Listing 200 servers' tools on two proxies is itself work for them: poll no faster than this.
const POLL_MS = 200;

const rssMb = (pid: number | undefined): number => {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Math.round(Number(kb) / 1024);
  } catch {
    return NaN;
  }
};
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

async function main(): Promise<void> {
  const bins = await buildControlPlane({ quiet: true });
  const cp = await startControlPlane(bins.controlplane);
  const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-bench-op-'));
  const net = await createNetNamespace(2);
  const kubectl = (args: string[], input?: string) =>
    run(bins.kubectl, args, {
      kubeconfig: cp.kubeconfig,
      timeoutMs: 120_000,
      ...(input !== undefined && { input }),
    });
  try {
    await installCrds(bins.kubectl, cp.kubeconfig);
    const ns = 'bench';
    await kubectl(['create', 'namespace', ns]);
    const emptyConfig = join(dir, 'empty.json');
    writeFileSync(emptyConfig, JSON.stringify({ mcpServers: {} }));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, TOKEN);

    // One remote backend process serves every McpServer (each gets its own connection from each proxy).
    const [wCmd, wArgs] = net.wrap(process.execPath, [
      '--import',
      'tsx',
      join(repoRoot, 'test/fixtures/servers/weather.ts'),
      '--http',
      '3100',
    ]);
    const weather = start(wCmd, wArgs, {}, repoRoot);
    await waitForOutput(weather, /listening on/, 30_000);
    const proxies: { id: string; url: string; proc: Started }[] = [];
    for (const [i, address] of net.addresses.entries()) {
      const [cmd, args] = net.wrap(process.execPath, [
        cliPath,
        '--transport',
        'http',
        '--host',
        address,
        '--port',
        '8080',
        '--config',
        emptyConfig,
        '--admin-token',
        TOKEN,
        '--log-level',
        'warn',
      ]);
      const proc = start(cmd, args);
      await waitForOutput(proc, /listening|mcp=/, 20_000).catch(() => undefined);
      proxies.push({ id: `proxy-${i}`, url: `http://${address}:8080`, proc });
    }
    await kubectl(
      ['apply', '-n', ns, '-f', '-'],
      stringify({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'admin-1', labels: { 'kubernetes.io/service-name': 'multi-mcp-admin' } },
        addressType: 'IPv4',
        ports: [{ name: 'admin', port: 8080 }],
        endpoints: proxies.map((p, i) => ({
          addresses: [net.addresses[i]],
          conditions: { ready: true },
          targetRef: { kind: 'Pod', name: p.id },
        })),
      }),
    );
    const operator = start(process.execPath, [
      join(repoRoot, 'operator/dist/main.js'),
      '--kubeconfig',
      cp.kubeconfig,
      '--namespaces',
      ns,
      '--proxy-service',
      `${ns}/multi-mcp-admin`,
      '--admin-token-file',
      tokenFile,
      '--no-leader-elect',
      '--health-host',
      '127.0.0.1',
      '--health-port',
      '0',
    ]);
    await waitForOutput(operator, /caches synced/, 60_000);
    const clients = await Promise.all(proxies.map((p) => v1Http(p.url)));
    const memBefore = {
      operator: rssMb(operator.child.pid),
      proxies: proxies.map((p) => rssMb(p.proc.child.pid)),
    };

    const names = Array.from({ length: COUNT }, (_, i) => `w${String(i).padStart(3, '0')}`);
    const manifest = names
      .map((name) =>
        stringify({
          apiVersion: 'multi-mcp.io/v1alpha1',
          kind: 'McpServer',
          metadata: { name },
          spec: { url: 'http://127.0.0.1:3100/mcp', transport: 'streamable-http' },
        }),
      )
      .join('---\n');
    const callableAt = new Map<string, number>();
    // When each server is on both replicas' admin API (pushed), as opposed to connected and listed.
    const registeredAt = new Map<string, number>();
    const registeredOn = proxies.map(() => new Map<string, number>());
    const perProxy = proxies.map(() => new Map<string, number>());
    // kubectl creates the objects one after the other: a watch tells when each one exists, and each
    // server's apply-to-callable is measured from there (the batch as a whole from t0).
    const createdAt = new Map<string, number>();
    const watcher = spawn(bins.kubectl, ['get', 'mcps', '-n', ns, '--watch-only', '-o', 'name'], {
      env: { ...process.env, KUBECONFIG: cp.kubeconfig },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    watcher.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const now = Date.now();
      for (const line of chunk.split('\n')) {
        const name = line.trim().split('/')[1];
        if (name && !createdAt.has(name)) createdAt.set(name, now);
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    if (process.env['BENCH_DEBUG']) console.error(`apply at ${new Date(t0).toISOString()}`);
    let applyMs = NaN;
    const applying = kubectl(['apply', '-n', ns, '-f', '-'], manifest).then(
      () => (applyMs = Date.now() - t0),
    );

    let allCallableMs = NaN;
    let allReadyMs = NaN;
    const callable = (async () => {
      while (Date.now() - t0 < LIMIT_MS) {
        await Promise.all(
          clients.map(async (c, i) => {
            const tools = (await c.listTools().catch(() => ({ tools: [] }))).tools.map((t) => t.name);
            const now = Date.now();
            for (const t of tools) {
              const prefix = t.split('__')[0] ?? '';
              if (!perProxy[i]?.has(prefix)) perProxy[i]?.set(prefix, now);
            }
          }),
        );
        await Promise.all(
          proxies.map(async (p, i) => {
            const body = (await fetch(`${p.url}/mcp_servers`, {
              headers: { authorization: `Bearer ${TOKEN}` },
            })
              .then((r) => r.json())
              .catch(() => ({ servers: [] }))) as { servers: { name: string }[] };
            const now = Date.now();
            for (const b of body.servers) {
              const n = b.name.replace(`${ns}_`, '');
              if (!registeredOn[i]?.has(n)) registeredOn[i]?.set(n, now);
            }
          }),
        );
        for (const n of names) {
          if (registeredAt.has(n)) continue;
          const times = registeredOn.map((m) => m.get(n));
          if (times.every((t) => t !== undefined))
            registeredAt.set(n, Math.max(...(times as number[])) - (createdAt.get(n) ?? t0));
        }
        for (const n of names) {
          if (callableAt.has(n)) continue;
          const times = perProxy.map((m) => m.get(n));
          if (times.every((t) => t !== undefined))
            callableAt.set(n, Math.max(...(times as number[])) - (createdAt.get(n) ?? t0));
        }
        if (callableAt.size === COUNT) {
          allCallableMs = Date.now() - t0;
          return;
        }
        if (process.env['BENCH_DEBUG'])
          console.error(
            `+${Date.now() - t0} ms: created ${createdAt.size}, pushed ${registeredAt.size}, callable ${callableAt.size}`,
          );
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();
    const ready = (async () => {
      while (Date.now() - t0 < LIMIT_MS) {
        const list = JSON.parse((await kubectl(['get', 'mcps', '-n', ns, '-o', 'json'])).stdout) as {
          items: { status?: { conditions?: { type: string; status: string }[] } }[];
        };
        const n = list.items.filter((o) =>
          o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ).length;
        if (n === COUNT) {
          allReadyMs = Date.now() - t0;
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await Promise.all([callable, ready, applying]);
    watcher.kill();
    const memAfter = {
      operator: rssMb(operator.child.pid),
      proxies: proxies.map((p) => rssMb(p.proc.child.pid)),
    };
    const sorted = [...callableAt.values()].sort((a, b) => a - b);
    const pushed = [...registeredAt.values()].sort((a, b) => a - b);
    const result = {
      mcpServers: COUNT,
      replicas: proxies.length,
      kubectlApplyMs: applyMs,
      applyToPushedMs: { p50: pct(pushed, 50), p99: pct(pushed, 99), max: pushed.at(-1) },
      applyToCallableMs: { p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted.at(-1) },
      allCallableMs,
      allReadyMs,
      memoryMb: { before: memBefore, after: memAfter },
      loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    };
    console.log(JSON.stringify(result, null, 2));
    const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    console.log(
      `${mark(result.applyToCallableMs.p50 < 1000)} p50 apply-to-callable ${result.applyToCallableMs.p50} ms (target < 1 s)`,
    );
    console.log(
      `     p50 apply-to-pushed (on both replicas' admin API) ${result.applyToPushedMs.p50} ms, p99 ${result.applyToPushedMs.p99} ms`,
    );
    console.log(`${mark(allReadyMs < 30_000)} all ${COUNT} Ready in ${allReadyMs} ms (target < 30 s)`);
    if (loadavg()[0]! > 2)
      console.log(`warning: load average ${loadavg()[0]!.toFixed(1)} on ${2} cores: other work was running`);
    if (process.env['BENCH_DEBUG']) {
      console.error(operator.output().split('\n').slice(-60).join('\n'));
      for (const p of proxies) console.error(p.proc.output().split('\n').slice(-30).join('\n'));
    }
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  } finally {
    await stopAll();
    await net.remove();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
