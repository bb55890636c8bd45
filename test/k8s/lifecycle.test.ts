import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startControlPlane } from '../harness/controlplane.js';
import { k8s, kubectl } from '../harness/k8s.js';

// A second, short-lived control plane next to the shared one: checks the binary's
// own contract (free ports, KEY=value lines, clean exit) rather than the API.
describe('control plane process', () => {
  const binary = (): string => k8s().controlplane;

  it('serves on its own free port and exits 0 on SIGTERM', async () => {
    const cp = await startControlPlane(binary());
    try {
      expect(cp.apiserver).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(cp.apiserver).not.toBe(k8s().apiserver);
      const ns = await kubectl(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: cp.kubeconfig });
      expect(ns.stdout.trim()).toBe('namespace/default');
    } finally {
      const started = Date.now();
      expect(await cp.stop({ timeoutMs: 30_000 })).toBe(0);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(existsSync(cp.dir)).toBe(false);
    }
  });

  it('shuts down by itself when its stdin closes (the parent died)', async () => {
    const cp = await startControlPlane(binary());
    try {
      cp.closeStdin();
      const code = await Promise.race([
        cp.exited,
        new Promise<string>((r) => setTimeout(() => r('still running after 30s'), 30_000)),
      ]);
      expect(code).toBe(0);
      expect(cp.logTail(5)).toContain('controlplane: stopped');
    } finally {
      await cp.stop();
    }
  });
});
