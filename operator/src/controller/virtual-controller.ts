import type { CustomObjectsApi, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from '@multi-mcp/proxy';
import type { VirtualServerSpec } from '@multi-mcp/proxy/contract';
import { formatZodIssues } from '@multi-mcp/proxy/contract';
import type { McpVirtualServer, McpVirtualServerStatus } from '../api/index.js';
import {
  API_VERSION,
  GROUP,
  McpVirtualServerSchema,
  VERSION,
  VIRTUAL_KIND,
  VIRTUAL_PLURAL,
} from '../api/index.js';
import type { DesiredSet, ReplicaState } from '../proxyclient/fleet.js';
import { backendNameFor, canonicalJson } from './backend.js';
import type { Informer } from './informers.js';
import { createInformer } from './informers.js';
import type { WorkResult } from './queue.js';
import type { VirtualEvaluation } from './virtual.js';
import {
  referencedServer,
  VIRTUAL_KEY_PREFIX,
  virtualServerNameFor,
  virtualServerSpecFor,
  virtualStatusFor,
} from './virtual.js';

// The McpVirtualServer half of the controller: its cache, its part of the desired set, and its
// status. It shares the McpServer controller's queue (keys prefixed with VIRTUAL_KEY_PREFIX), its
// fleet push (virtual servers ride in the same owner-scoped revision) and its resync.

const FIELD_MANAGER = 'multi-mcp-operator';

type RawVirtual = KubernetesObject & { spec?: unknown; status?: McpVirtualServerStatus };

export interface VirtualInformer {
  start(): Promise<void>;
  stop(): Promise<void>;
  get(namespace: string, name: string): RawVirtual | undefined;
  /** The views to push, once McpVirtualServers are listed (undefined before: push none, remove none). */
  evaluate(
    served: ReadonlySet<string>,
  ): { specs: Record<string, VirtualServerSpec>; hashes: Record<string, string> } | undefined;
  /** What the last evaluate() decided about `ns/name`. */
  evaluation(key: string): VirtualEvaluation | { rejected: string } | undefined;
  enqueueAll(): void;
  writeStatus(raw: RawVirtual, status: McpVirtualServerStatus): Promise<void>;
}

export interface VirtualInformerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  custom: CustomObjectsApi;
  namespaces: string[];
  enqueue(key: string): void;
  /** Something changed that the desired set depends on. */
  changed(): void;
  started(): boolean;
}

const keyOf = (obj: KubernetesObject): string =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export function createVirtualInformer(options: VirtualInformerOptions): VirtualInformer {
  const { custom, namespaces } = options;
  let listed = false;
  const generations = new Map<string, string>();
  let evaluations = new Map<string, VirtualEvaluation | { rejected: string }>();

  const paths = (namespaces.length === 0 ? [undefined] : namespaces).map((namespace) => ({
    path:
      namespace === undefined
        ? `/apis/${GROUP}/${VERSION}/${VIRTUAL_PLURAL}`
        : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${VIRTUAL_PLURAL}`,
    list: () =>
      (namespace === undefined
        ? custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: VIRTUAL_PLURAL })
        : custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: VIRTUAL_PLURAL,
            namespace,
          })) as Promise<{
        items: RawVirtual[];
        metadata?: { resourceVersion?: string };
      }>,
  }));

  const informer: Informer<RawVirtual> = createInformer<RawVirtual>({
    kubeConfig: options.kubeConfig,
    paths,
    what: VIRTUAL_PLURAL,
    log: options.log,
    onChange: (kind, obj) => {
      const key = keyOf(obj);
      // Status writes come back as updates: only spec changes (and deletion) are worth a reconcile.
      const generation = String(obj.metadata?.generation);
      const before = generations.get(key);
      if (kind === 'delete') generations.delete(key);
      else generations.set(key, generation);
      if (kind === 'update' && before === generation) return;
      if (!listed || !options.started()) return;
      options.changed();
      options.enqueue(VIRTUAL_KEY_PREFIX + key);
    },
  });

  const evaluate = (served: ReadonlySet<string>) => {
    if (!listed) return undefined;
    const next = new Map<string, VirtualEvaluation | { rejected: string }>();
    const specs: Record<string, VirtualServerSpec> = {};
    const hashes: Record<string, string> = {};
    for (const raw of informer.list()) {
      if (raw.metadata?.deletionTimestamp) continue;
      const key = keyOf(raw);
      const parsed = McpVirtualServerSchema.safeParse(raw);
      if (!parsed.success) {
        next.set(key, { rejected: formatZodIssues(parsed.error, '').join('; ') });
        continue;
      }
      const vs = parsed.data;
      const name = virtualServerNameFor(vs.metadata.namespace, vs.metadata.name);
      const { spec, hash } = virtualServerSpecFor(vs);
      const unserved = (vs.spec.backends ?? []).filter((ref) => {
        const target = referencedServer(vs.metadata.namespace, ref);
        return !served.has(backendNameFor(target.namespace, target.name));
      });
      specs[name] = spec;
      hashes[name] = hash;
      next.set(key, { name, hash, backends: spec.backends, unserved });
    }
    evaluations = next;
    return { specs, hashes };
  };

  const writeStatus = async (raw: RawVirtual, status: McpVirtualServerStatus): Promise<void> => {
    if (raw.status && canonicalJson(raw.status) === canonicalJson(status)) return;
    const namespace = raw.metadata?.namespace ?? '';
    const name = raw.metadata?.name ?? '';
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: VIRTUAL_PLURAL,
        namespace,
        name,
        body: { apiVersion: API_VERSION, kind: VIRTUAL_KIND, metadata: { name, namespace }, status },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  };

  return {
    async start() {
      await informer.start();
      listed = true;
      options.log.info('caches synced', { [VIRTUAL_PLURAL]: informer.list().length });
    },
    stop: () => informer.stop(),
    get: (namespace, name) => informer.get(name, namespace),
    evaluate,
    evaluation: (key) => evaluations.get(key),
    enqueueAll() {
      if (!listed || !options.started()) return;
      for (const raw of informer.list()) options.enqueue(VIRTUAL_KEY_PREFIX + keyOf(raw));
    },
    writeStatus,
  };
}

export interface VirtualReconcileDeps {
  evaluate(): { desired: DesiredSet };
  converge(desired: DesiredSet): Promise<void>;
  states(): ReplicaState[];
}

/** Pushes the desired set (which holds this view, or no longer does) and reports what the replicas accepted. */
export async function reconcileVirtual(
  virtuals: VirtualInformer,
  key: string,
  deps: VirtualReconcileDeps,
): Promise<WorkResult> {
  const slash = key.indexOf('/');
  const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
  const { desired } = deps.evaluate();
  await deps.converge(desired);
  const raw = virtuals.get(namespace, name);
  if (!raw || raw.metadata?.deletionTimestamp) return {};
  const evaluation = virtuals.evaluation(key);
  if (!evaluation) return {};
  const parsed = McpVirtualServerSchema.safeParse(raw);
  // An object the schema rejects still gets a status, built from what there is.
  const vs: McpVirtualServer = parsed.success
    ? parsed.data
    : ({ ...(raw as object), spec: {} } as unknown as McpVirtualServer);
  const status = virtualStatusFor(
    { ...vs, ...(raw.status && { status: raw.status }) },
    evaluation,
    deps.states(),
  );
  await virtuals.writeStatus(raw, status);
  // Not on every replica yet (one unreachable, or none there): look again; the resync also does.
  // A named McpServer that is not served re-enqueues this view when it changes.
  const [synced, total] = (status.synced ?? '0/0').split('/');
  return 'rejected' in evaluation || (synced === total && total !== '0') ? {} : { requeueAfterMs: 2_000 };
}
