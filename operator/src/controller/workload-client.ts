import type { AppsV1Api, CoreV1Api, KubernetesObject } from '@kubernetes/client-node';
import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { McpServer } from '../api/index.js';
import { deploymentAvailability, workloadFor, workloadNameOf } from './workload.js';

// The API calls behind spec.deployment: apply the Deployment and Service while the McpServer wants
// them, delete them once it does not. Owner references alone are not enough for the second part:
// they act only when the McpServer itself is deleted, and only where a garbage collector runs.

export interface WorkloadClient {
  /** Applies the Deployment and Service server-side; returns the Deployment's availability. */
  apply(server: McpServer, configHash: string | undefined): Promise<{ ready: boolean; message: string }>;
  /**
   * Deletes the Deployment and Service of McpServer `namespace/name` that this McpServer (`uid`)
   * controls; a same-named object someone else owns is left alone. Returns what it deleted.
   */
  remove(namespace: string, name: string, uid: string): Promise<string[]>;
}

const notFound = (error: unknown): boolean => error instanceof ApiException && error.code === 404;

export function createWorkloadClient(apps: AppsV1Api, core: CoreV1Api, fieldManager: string): WorkloadClient {
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

  /** Reads one object; deletes it, pinned to the uid read, if `owner` controls it. */
  const removeOwned = async (
    what: string,
    read: () => Promise<KubernetesObject>,
    del: (uid: string) => Promise<unknown>,
    owner: string,
  ): Promise<string | undefined> => {
    let obj: KubernetesObject;
    try {
      obj = await read();
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
    const ours = obj.metadata?.ownerReferences?.some((r) => r.uid === owner && r.controller === true);
    const uid = obj.metadata?.uid;
    if (!ours || !uid) return undefined;
    try {
      await del(uid);
    } catch (error) {
      // Gone meanwhile, or replaced by an object with another uid (the precondition): not ours to delete.
      if (notFound(error) || (error instanceof ApiException && error.code === 409)) return undefined;
      throw error;
    }
    return what;
  };

  return {
    async apply(server, configHash) {
      const { deployment, service } = workloadFor(server, configHash);
      const namespace = server.metadata.namespace;
      const applied = await apps.patchNamespacedDeployment(
        { name: deployment.metadata?.name ?? '', namespace, body: deployment, fieldManager, force: true },
        ssa,
      );
      await core.patchNamespacedService(
        { name: service.metadata?.name ?? '', namespace, body: service, fieldManager, force: true },
        ssa,
      );
      return deploymentAvailability(applied);
    },

    async remove(namespace, name, owner) {
      const workload = workloadNameOf(name);
      // Background: Foreground would wait for a garbage collector to delete the ReplicaSets first.
      const options = (uid: string) => ({ preconditions: { uid }, propagationPolicy: 'Background' });
      const removed = await Promise.all([
        removeOwned(
          `Deployment ${workload}`,
          () => apps.readNamespacedDeployment({ name: workload, namespace }),
          (uid) => apps.deleteNamespacedDeployment({ name: workload, namespace, body: options(uid) }),
          owner,
        ),
        removeOwned(
          `Service ${workload}`,
          () => core.readNamespacedService({ name: workload, namespace }),
          (uid) => core.deleteNamespacedService({ name: workload, namespace, body: options(uid) }),
          owner,
        ),
      ]);
      return removed.filter((r): r is string => r !== undefined);
    },
  };
}
