import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { freshNamespace, k8s, kubeConfig, kubectl, kubectlJson, waitFor } from '../harness/k8s.js';

describe('RBAC for the ServiceAccount user', () => {
  it('is denied until a Role and RoleBinding grant access', async () => {
    const { saKubeconfig, saUser } = k8s();
    const [, saNamespace, saName] = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(saUser) ?? [];
    expect(saNamespace && saName).toBeTruthy();
    const ns = await freshNamespace('rbac');
    const other = await freshNamespace('rbac-other');
    await kubectl(['create', 'configmap', 'cfg', '-n', ns, '--from-literal=k=v']);
    const asSa = { kubeconfig: saKubeconfig, allowFailure: true };

    // The API server authenticates the token as the ServiceAccount.
    const whoami = await kubectlJson<{ status: { userInfo: { username: string; groups: string[] } } }>(
      ['auth', 'whoami'],
      { kubeconfig: saKubeconfig },
    );
    expect(whoami.status.userInfo.username).toBe(saUser);
    expect(whoami.status.userInfo.groups).toContain(`system:serviceaccounts:${saNamespace}`);

    // Denied: kubectl, can-i and client-node (403).
    const denied = await kubectl(['get', 'configmaps', '-n', ns], asSa);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Forbidden');
    expect(denied.stderr).toContain(`User "${saUser}" cannot list resource "configmaps"`);
    const canI = await kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', ns], asSa);
    expect(canI.stdout.trim()).toBe('no');
    const core = kubeConfig('serviceaccount').makeApiClient(CoreV1Api);
    const error: unknown = await core.listNamespacedConfigMap({ namespace: ns }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(403);

    // Grant read access in one namespace.
    await kubectl(['create', 'role', 'reader', '-n', ns, '--verb=get,list,watch', '--resource=configmaps']);
    await kubectl([
      'create',
      'rolebinding',
      'reader',
      '-n',
      ns,
      '--role=reader',
      `--serviceaccount=${saNamespace}:${saName}`,
    ]);
    await waitFor(
      'the RoleBinding to take effect',
      async () =>
        (await kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', ns], asSa)).stdout.trim() === 'yes',
      { timeoutMs: 10_000 },
    );
    const allowed = await kubectl(['get', 'configmaps', '-n', ns, '-o', 'name'], {
      kubeconfig: saKubeconfig,
    });
    expect(allowed.stdout.trim()).toBe('configmap/cfg');
    const listed = await core.listNamespacedConfigMap({ namespace: ns });
    expect(listed.items.map((c) => c.metadata?.name)).toEqual(['cfg']);

    // Only what was granted, only where it was granted.
    expect((await kubectl(['auth', 'can-i', 'delete', 'configmaps', '-n', ns], asSa)).stdout.trim()).toBe(
      'no',
    );
    expect((await kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', other], asSa)).stdout.trim()).toBe(
      'no',
    );
    expect((await kubectl(['get', 'configmaps', '-n', other], asSa)).code).not.toBe(0);
  });
});
