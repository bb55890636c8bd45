/**
 * `npm run dev:cluster`: a real Kubernetes API server on this machine, no Docker and no cluster
 * needed. Builds the control plane if needed (Go >= 1.24), starts it on 127.0.0.1, installs
 * crds/*.yaml, then runs one proxy, the operator (stdio allowed in every namespace) and
 * server-everything on 127.0.0.1:3001 (the URL of config/samples/everything.yaml), prints KEY=value
 * lines for scripts and a short how-to, and stays in the foreground until Ctrl-C. The API server
 * rejects loopback addresses in EndpointSlices, so here the operator is given the proxy's URL
 * (--proxy-url) instead of discovering it. Run `npm run build` first.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildControlPlane, repoRoot, startControlPlane } from '../test/harness/controlplane.js';
import type { ControlPlane } from '../test/harness/controlplane.js';
import { installCrds } from '../test/harness/global-setup.js';
import { freePort } from '../test/support/net.js';

/** Starts a Node program with its output prefixed on our stderr; resolves once `ready` appears. */
function child(
  name: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${seen}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      for (const line of text.split('\n')) if (line) process.stderr.write(`[${name}] ${line}\n`);
      seen += text;
      if (ready.test(seen)) {
        clearTimeout(timer);
        resolve(proc);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${String(code)}) before it was ready:\n${seen}`));
    });
  });
}

async function main(): Promise<void> {
  const bins = await buildControlPlane();
  const started = Date.now();
  const cp: ControlPlane = await startControlPlane(bins.controlplane);
  const readyMs = Date.now() - started;
  const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-dev-'));
  const children: ChildProcess[] = [];

  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${why}: stopping the operator, the proxy and the control plane ...`);
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
    );
    const code = await cp.stop();
    rmSync(dir, { recursive: true, force: true });
    console.error(`stopped (exit ${String(code)})`);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    const crds = await installCrds(bins.kubectl, cp.kubeconfig);
    if (crds.length > 0) console.error(`installed ${crds.length} CRD file(s) from crds/`);
  } catch (err) {
    console.error(`installing crds/*.yaml failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  const token = randomBytes(16).toString('hex');
  const tokenFile = join(dir, 'admin-token');
  const emptyConfig = join(dir, 'mcp.json');
  writeFileSync(tokenFile, `${token}\n`);
  writeFileSync(emptyConfig, JSON.stringify({ mcpServers: {} }));
  const port = await freePort();
  try {
    const everything = await child(
      'everything',
      ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'streamableHttp'],
      /listening on port/i,
      { PORT: '3001' },
    ).catch((err: unknown) => {
      console.error(
        `server-everything did not start on 127.0.0.1:3001 (${String(err).split('\n')[0]}); ` +
          'config/samples/everything.yaml will not connect',
      );
      return undefined;
    });
    if (everything) children.push(everything);
    const proxyArgs = [
      'proxy/dist/cli.js',
      '--transport',
      'http',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ];
    children.push(
      await child('proxy', [...proxyArgs, '--config', emptyConfig, '--admin-token', token], /listening/),
    );
    children.push(
      await child(
        'operator',
        [
          'operator/dist/main.js',
          '--kubeconfig',
          cp.kubeconfig,
          '--proxy-url',
          `http://127.0.0.1:${port}`,
          '--admin-token-file',
          tokenFile,
          '--stdio-namespaces',
          '*',
          '--no-leader-elect',
          '--health-host',
          '127.0.0.1',
          '--health-port',
          '0',
          '--resync-seconds',
          '30',
        ],
        /caches synced/,
      ),
    );
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    await shutdown('a process did not start (did you run npm run build?)');
    return;
  }

  // KEY=value lines on stdout, for scripts.
  console.log(`KUBECONFIG=${cp.kubeconfig}`);
  console.log(`SA_KUBECONFIG=${cp.saKubeconfig}`);
  console.log(`APISERVER=${cp.apiserver}`);
  console.log(`KUBECTL=${bins.kubectl}`);
  console.log(`HELM=${bins.helm}`);
  console.log(`MCP_URL=http://127.0.0.1:${port}/mcp`);
  console.log(`ADMIN_URL=http://127.0.0.1:${port}`);
  console.log(`ADMIN_TOKEN=${token}`);

  console.error(`
kube-apiserver ${bins.k8sVersion} ready in ${(readyMs / 1000).toFixed(1)}s at ${cp.apiserver} (etcd + apiserver, no nodes)
proxy at http://127.0.0.1:${port}/mcp, the operator watching every namespace

  export KUBECONFIG=${cp.kubeconfig}
  export PATH=${bins.binDir}:$PATH     # kubectl ${bins.k8sVersion} and helm ${bins.helmVersion}
  kubectl apply -f config/samples/ && kubectl get mcps -w
  curl -s -H "Authorization: Bearer ${token}" http://127.0.0.1:${port}/mcp_servers
  kubectl --kubeconfig ${cp.saKubeconfig} auth whoami   # as ${cp.saUser}

The operator allows stdio McpServers in EVERY namespace here (--stdio-namespaces '*'); in a cluster
the default is its own namespace only. It is given the proxy's URL (--proxy-url) because the API
server rejects loopback addresses in EndpointSlices.
Log: ${cp.logFile}
Only the API server runs: objects are stored and validated, but no Pods start.
Press Ctrl-C to stop (the data is temporary).`);

  const code = await cp.exited;
  if (!stopping) {
    cp.saveLog(`the control plane exited unexpectedly (code ${String(code)})`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
