import { describe, expect, it } from 'vitest';
import { helm, k8s, kubectlJson } from '../harness/k8s.js';

interface VersionInfo {
  gitVersion: string;
}

describe('built binaries', () => {
  it('kubectl and kube-apiserver are the pinned Kubernetes version', async () => {
    const { k8sVersion } = k8s();
    const v = await kubectlJson<{ clientVersion: VersionInfo; serverVersion: VersionInfo }>(['version']);
    expect(v.clientVersion.gitVersion).toBe(k8sVersion);
    expect(v.serverVersion.gitVersion).toBe(k8sVersion);
  });

  it('helm is the pinned helm v3 version', async () => {
    const { helmVersion } = k8s();
    const out = await helm(['version', '--short']);
    expect(out.stdout.trim()).toMatch(new RegExp(`^${helmVersion.replace(/\./g, '\\.')}\\b`));
  });
});
