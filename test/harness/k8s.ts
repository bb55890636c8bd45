/**
 * Helpers for tests in the `k8s` vitest project (the control plane is started
 * by ./global-setup.ts). Import from test files only.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { inject, onTestFailed } from 'vitest';
import { run } from './kubectl.js';
import type { RunOptions, RunResult } from './kubectl.js';

export type K8sContext = ReturnType<typeof k8s>;

/** Coordinates of the running control plane and the cached binaries. */
export function k8s() {
  const setupError = inject('k8sSetupError');
  if (setupError) throw new Error(setupError);
  return inject('k8s');
}

/** Runs the real kubectl (same version as the API server); admin kubeconfig unless given. */
export function kubectl(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const ctx = k8s();
  return run(ctx.kubectl, args, { ...options, kubeconfig: options.kubeconfig ?? ctx.kubeconfig });
}

/** `kubectl ... -o json`, parsed. */
export async function kubectlJson<T>(args: readonly string[], options: RunOptions = {}): Promise<T> {
  const result = await kubectl([...args, '-o', 'json'], options);
  return JSON.parse(result.stdout) as T;
}

/**
 * Runs the real helm binary (built from its own module, k8s libraries at the control plane's
 * version). `helmHome` keeps helm's cache/config/data dirs out of the user's home.
 */
export function helm(
  args: readonly string[],
  options: RunOptions & { helmHome?: string } = {},
): Promise<RunResult> {
  const ctx = k8s();
  const { helmHome, ...rest } = options;
  const env: Record<string, string> = helmHome
    ? {
        HELM_CACHE_HOME: `${helmHome}/cache`,
        HELM_CONFIG_HOME: `${helmHome}/config`,
        HELM_DATA_HOME: `${helmHome}/data`,
      }
    : {};
  return run(ctx.helm, args, {
    ...rest,
    env: { ...env, ...rest.env },
    kubeconfig: rest.kubeconfig ?? ctx.kubeconfig,
  });
}

/** A @kubernetes/client-node KubeConfig for the admin (default) or the ServiceAccount user. */
export function kubeConfig(user: 'admin' | 'serviceaccount' = 'admin'): KubeConfig {
  const ctx = k8s();
  const kc = new KubeConfig();
  kc.loadFromFile(user === 'admin' ? ctx.kubeconfig : ctx.saKubeconfig);
  return kc;
}

/**
 * Creates a namespace with a generated name (`<prefix>-xxxxx`) and returns it.
 * Namespaces never finish deleting without kube-controller-manager, so every
 * test takes a fresh one instead of reusing a name. Also prints the control
 * plane's log path when the calling test fails.
 */
export async function freshNamespace(prefix = 'test'): Promise<string> {
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { generateName: `${prefix}-`, labels: { 'multi-mcp.io/test': 'true' } },
  });
  const result = await kubectl(['create', '-f', '-', '-o', 'jsonpath={.metadata.name}'], { input: manifest });
  const name = result.stdout.trim();
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`unexpected namespace name ${JSON.stringify(name)}`);
  const logFile = k8s().logFile;
  try {
    onTestFailed(() => {
      console.error(`[k8s harness] test failed in namespace ${name}; control plane log: ${logFile}`);
    });
  } catch {
    // Called from a hook (beforeAll) rather than a test: nothing to attach to.
  }
  return name;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
