/**
 * vitest setupFiles entry of the `k8s` project: when ./global-setup.ts could not
 * build or start the control plane (e.g. Go is not installed), every k8s test
 * fails with its message instead of being skipped or passing silently.
 */
import { beforeEach, inject } from 'vitest';

beforeEach(() => {
  const error = inject('k8sSetupError');
  if (error) throw new Error(error);
});
