import { defineConfig } from 'vitest/config';

// One runner for every package. Projects keep slow suites (real processes, a real
// kube-apiserver) apart from the unit tests so each gets its own setup and timeouts.
export default defineConfig({
  test: {
    reporters: ['default', './test/reporter/summary.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['proxy/src/**/*.test.ts', 'operator/src/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ['./test/e2e/global-setup.ts'],
        },
      },
      {
        test: {
          // A real kube-apiserver + etcd (test/controlplane/), started once per run.
          name: 'k8s',
          include: ['test/k8s/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ['./test/harness/build.ts', './test/harness/global-setup.ts'],
          setupFiles: ['./test/harness/setup-file.ts'],
        },
      },
    ],
  },
});
