/**
 * `npm run dev:cluster`: a real Kubernetes API server on this machine, no
 * Docker and no cluster needed. Builds the control plane if needed (Go >= 1.24),
 * starts it on 127.0.0.1, installs crds/*.yaml, prints KEY=value lines for
 * scripts and a short how-to, and stays in the foreground until Ctrl-C.
 */
import { buildControlPlane, startControlPlane } from '../test/harness/controlplane.js';
import type { ControlPlane } from '../test/harness/controlplane.js';
import { installCrds } from '../test/harness/global-setup.js';

async function main(): Promise<void> {
  const bins = await buildControlPlane();
  const started = Date.now();
  const cp: ControlPlane = await startControlPlane(bins.controlplane);
  const readyMs = Date.now() - started;

  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${why}: stopping the control plane ...`);
    // TODO(operator, proxy): stop them here, before the control plane.
    const code = await cp.stop();
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

  // TODO(operator, proxy): once they exist, start a proxy (HTTP mode, admin API on
  // 127.0.0.1) and the operator with KUBECONFIG=cp.kubeconfig here, then print
  //   MCP_URL=http://127.0.0.1:<port>/mcp
  //   ADMIN_URL=http://127.0.0.1:<port>
  // so that `kubectl apply -f config/samples/` works end to end.

  // KEY=value lines on stdout, for scripts.
  console.log(`KUBECONFIG=${cp.kubeconfig}`);
  console.log(`SA_KUBECONFIG=${cp.saKubeconfig}`);
  console.log(`APISERVER=${cp.apiserver}`);
  console.log(`KUBECTL=${bins.kubectl}`);
  console.log(`HELM=${bins.helm}`);

  console.error(`
kube-apiserver ${bins.k8sVersion} ready in ${(readyMs / 1000).toFixed(1)}s at ${cp.apiserver} (etcd + apiserver, no nodes)

  export KUBECONFIG=${cp.kubeconfig}
  export PATH=${bins.binDir}:$PATH     # kubectl ${bins.k8sVersion} and helm ${bins.helmVersion}
  kubectl get ns
  kubectl --kubeconfig ${cp.saKubeconfig} auth whoami   # as ${cp.saUser}

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
