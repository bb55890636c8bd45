/**
 * vitest globalSetup of the `k8s` project: builds the control plane if needed
 * (test/controlplane/build.sh), starts it once per test run, installs the CRDs
 * from crds/*.yaml (failing every k8s test when there are none: run `npm run gen:crds`), and
 * provides its coordinates to the tests (see k8s.ts).
 * Without Go this setup throws, so every k8s test fails with a message saying
 * what to install; it never skips.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildControlPlane, repoRoot, startControlPlane } from './controlplane.js';
import type { Binaries, ControlPlane } from './controlplane.js';
import { run } from './kubectl.js';

declare module 'vitest' {
  export interface ProvidedContext {
    k8s: {
      apiserver: string;
      kubeconfig: string;
      saKubeconfig: string;
      saUser: string;
      controlplane: string;
      kubectl: string;
      helm: string;
      logFile: string;
      k8sVersion: string;
      helmVersion: string;
    };
    /** Set when the control plane could not be built or started; ./setup-file.ts fails every k8s test with it. */
    k8sSetupError: string;
  }
}

/** Applies every crds/*.yaml (or `dir`/*.yaml) and waits until the API server serves them. */
export async function installCrds(
  kubectl: string,
  kubeconfig: string,
  dir: string = join(repoRoot, 'crds'),
): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .map((f) => join(dir, f));
  if (files.length === 0) return [];
  const args = ['apply', '--server-side', '--field-manager=multi-mcp-tests'];
  for (const f of files) args.push('-f', f);
  await run(kubectl, args, { kubeconfig });
  // Right after the apply a CRD may have no status yet, and kubectl wait then fails at once
  // ("status.conditions accessor error") instead of waiting: retry that, bounded.
  for (let attempt = 1; ; attempt++) {
    const waited = await run(
      kubectl,
      ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'],
      {
        kubeconfig,
        timeoutMs: 70_000,
        allowFailure: attempt < 5,
      },
    );
    if (waited.code === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return files;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('k8sSetupError', '');
  const started = Date.now();
  let bins: Binaries;
  let cp: ControlPlane | undefined;
  try {
    bins = await buildControlPlane();
  } catch (err) {
    // Not a skip: every k8s test fails with this message (other projects still run).
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`\n[k8s harness] ${message}\n`);
    project.provide('k8sSetupError', message);
    return async () => undefined;
  }
  const built = Date.now();
  try {
    cp = await startControlPlane(bins.controlplane);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    project.provide('k8sSetupError', `the test control plane did not start: ${message}`);
    return async () => undefined;
  }
  const ready = Date.now();
  process.stderr.write(
    `[k8s harness] kube-apiserver ${bins.k8sVersion} ready at ${cp.apiserver} ` +
      `(build check ${((built - started) / 1000).toFixed(1)}s, start ${((ready - built) / 1000).toFixed(1)}s)\n`,
  );
  let installed: string[];
  try {
    installed = await installCrds(bins.kubectl, cp.kubeconfig);
  } catch (err) {
    cp.saveLog('installing crds/*.yaml failed');
    await cp.stop();
    throw err;
  }
  if (installed.length === 0) {
    // The operator's tests need the McpServer CRD; an empty crds/ is a broken checkout, not a pass.
    await cp.stop();
    const message = `crds/ holds no CustomResourceDefinition (*.yaml): run npm run gen:crds`;
    process.stderr.write(`\n[k8s harness] ${message}\n`);
    project.provide('k8sSetupError', message);
    return async () => undefined;
  }

  // A control plane that dies mid-run fails the tests that follow; keep its log.
  const current = cp;
  void current.exited.then((code) => {
    if (cp === current) current.saveLog(`control plane exited unexpectedly (code ${String(code)})`);
  });

  process.env['KUBECONFIG'] = cp.kubeconfig;
  project.provide('k8s', {
    apiserver: cp.apiserver,
    kubeconfig: cp.kubeconfig,
    saKubeconfig: cp.saKubeconfig,
    saUser: cp.saUser,
    controlplane: bins.controlplane,
    kubectl: bins.kubectl,
    helm: bins.helm,
    logFile: cp.logFile,
    k8sVersion: bins.k8sVersion,
    helmVersion: bins.helmVersion,
  });

  return async () => {
    const stopping = cp;
    cp = undefined;
    if (!stopping) return;
    const failed = project.vitest.state.getCountOfFailedTests() > 0;
    if (failed) stopping.saveLog('some tests failed');
    const code = await stopping.stop({ keep: false });
    if (code !== 0)
      process.stderr.write(`[k8s harness] control plane exited with code ${String(code)} on stop\n`);
  };
}
