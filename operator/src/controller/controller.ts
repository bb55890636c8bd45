import type {
  KubeConfig,
  KubernetesObject,
  V1ConfigMap,
  V1EndpointSlice,
  V1Secret,
} from '@kubernetes/client-node';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Logger } from '@multi-mcp/proxy';
import type { BackendSpec } from '@multi-mcp/proxy/contract';
import { BackendSpecSchema, formatZodIssues } from '@multi-mcp/proxy/contract';
import type { McpServer, McpServerStatus } from '../api/index.js';
import { API_VERSION, FINALIZER, GROUP, KIND, McpServerSchema, PLURAL, VERSION } from '../api/index.js';
import type { Metrics } from '../http/metrics.js';
import type { AdminClient } from '../proxyclient/admin.js';
import { replicasFromSlices } from '../proxyclient/discovery.js';
import type { Replica } from '../proxyclient/discovery.js';
import type { DesiredSet } from '../proxyclient/fleet.js';
import { Fleet } from '../proxyclient/fleet.js';
import type { ReferenceLookup } from './backend.js';
import {
  backendNameFor,
  backendSpecFor,
  canonicalJson,
  exposedPrefix,
  referencedEnvHash,
  referencesOf,
  specHash,
} from './backend.js';
import { ConditionType, Reason } from './conditions.js';
import { describeError } from './errors.js';
import type { ServerResult } from './conflicts.js';
import { resolveServers } from './conflicts.js';
import type { Informer } from './informers.js';
import { createInformer } from './informers.js';
import type { WorkQueue, WorkResult } from './queue.js';
import { createWorkQueue } from './queue.js';
import { createWorkloadClient } from './workload-client.js';
import type { Evaluation } from './status.js';
import { replicaFacts, settling, statusFor } from './status.js';
import type { VirtualInformer } from './virtual-controller.js';
import { createVirtualInformer, reconcileVirtual } from './virtual-controller.js';
import { VIRTUAL_KEY_PREFIX } from './virtual.js';

export const FIELD_MANAGER = 'multi-mcp-operator';
/** How old a replica's read-back may be for a status (never older than the replica's last push). */
const OBSERVE_MAX_AGE_MS = 250;
export const DEFAULT_STATUS_INTERVAL_MS = 5_000;

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  admin: AdminClient;
  /** Namespaces whose McpServers are served; empty = all. */
  namespaces: string[];
  /** The proxy's admin Service, whose EndpointSlices list the replicas. */
  proxyService?: { namespace: string; name: string };
  /** Fixed replica URLs instead of discovery (development, e.g. npm run dev:cluster). */
  staticReplicas?: Replica[];
  /** Name of the EndpointSlice port of the admin API; default: the first port. */
  proxyPortName?: string;
  /** Namespaces allowed to define stdio servers; `*` = every namespace. */
  stdioNamespaces: string[];
  /** Owner of the operator's backends on the proxies. */
  owner: string;
  resyncMs: number;
  /** How often every replica's account of its backends is read to keep statuses true (default 5 s). */
  statusIntervalMs?: number;
  concurrency?: number;
  metrics?: Metrics;
  /** Who reports Events (the pod name in a cluster). */
  identity?: string;
}

export interface Controller {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For tests and metrics. */
  readonly fleet: Fleet;
  readonly queue: WorkQueue;
  /** True once every cache holds its first list. */
  synced(): boolean;
}

type RawObject = KubernetesObject & { spec?: unknown; status?: McpServerStatus };

const keyOf = (obj: KubernetesObject): string =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
const splitKey = (key: string): [string, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};
const timeOf = (t: unknown): number =>
  t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : 0;

function decodeSecret(secret: V1Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

export function createController(options: ControllerOptions): Controller {
  const { kubeConfig, log } = options;
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  const workloads = createWorkloadClient(kubeConfig.makeApiClient(AppsV1Api), core, FIELD_MANAGER);
  const fleet = new Fleet(options.admin, options.owner, log.with({ component: 'fleet' }));
  const service = options.proxyService
    ? `${options.proxyService.namespace}/${options.proxyService.name}`
    : `(fixed replicas ${(options.staticReplicas ?? []).map((r) => r.url).join(', ')})`;
  const stdioAll = options.stdioNamespaces.includes('*');
  const stdioHint =
    options.stdioNamespaces.length === 0
      ? 'start the operator with --stdio-namespaces to allow it'
      : `stdio is allowed in ${options.stdioNamespaces.map((n) => `"${n}"`).join(', ')}; add this namespace to the operator's --stdio-namespaces (MULTI_MCP_STDIO_NAMESPACES) to allow it`;

  // What each McpServer's last seen version needed, to enqueue the right keys on later events.
  const seen = new Map<
    string,
    { generation: string; prefix?: string; secrets: string[]; configMaps: string[] }
  >();

  const namespaced = (plural: string, prefix: string) =>
    options.namespaces.length === 0
      ? [`${prefix}/${plural}`]
      : options.namespaces.map((ns) => `${prefix}/namespaces/${ns}/${plural}`);

  const mcpPaths = namespaced(PLURAL, `/apis/${GROUP}/${VERSION}`).map((path, i) => ({
    path,
    list: () =>
      (options.namespaces.length === 0
        ? custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
        : custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace: options.namespaces[i] as string,
          })) as Promise<{
        items: RawObject[];
        metadata?: { resourceVersion?: string };
      }>,
  }));

  const queue: WorkQueue = createWorkQueue(
    async (key) => {
      const started = performance.now();
      try {
        const result = await reconcile(key);
        options.metrics?.reconciles.inc({ result: 'success' });
        return result;
      } catch (error) {
        options.metrics?.reconciles.inc({ result: 'error' });
        throw error;
      } finally {
        options.metrics?.reconcileSeconds.observe((performance.now() - started) / 1000);
        options.metrics?.queueDepth.set(queue.size());
        options.metrics?.mcpServers.set(servers.list().length);
      }
    },
    { concurrency: options.concurrency ?? 8, baseDelayMs: 200, maxDelayMs: 60_000 },
    (key, error, retryInMs) => {
      const message = describeError(error);
      log.warn('reconcile failed', { mcpserver: key, error: message, retryInMs });
    },
  );

  // The push to the replicas follows every change at once, apart from the per-key status work: with
  // many servers applied together, callable must not wait for other servers' status round trips.
  let syncing: Promise<void> | undefined;
  let syncAgain = false;
  const scheduleSync = (): void => {
    if (!started) return;
    if (syncing) {
      syncAgain = true;
      return;
    }
    syncing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => fleet.converge(evaluateAll().desired))
      .catch((error: unknown) => log.warn('sync failed', { error: describeError(error) }))
      .finally(() => {
        syncing = undefined;
        if (syncAgain) {
          syncAgain = false;
          scheduleSync();
        }
      });
  };

  const enqueueAll = (): void => {
    for (const obj of servers.list()) queue.add(keyOf(obj));
    virtuals.enqueueAll();
  };
  const enqueueReferencing = (kind: 'secrets' | 'configMaps', obj: KubernetesObject): void => {
    invalidateEvaluation();
    if (!started) return;
    scheduleSync();
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    for (const [key, s] of seen) if (key.startsWith(`${ns}/`) && s[kind].includes(name ?? '')) queue.add(key);
  };

  const virtuals: VirtualInformer = createVirtualInformer({
    kubeConfig,
    log,
    custom,
    namespaces: options.namespaces,
    enqueue: (key) => queue.add(key),
    changed: () => {
      if (started) scheduleSync();
    },
    started: () => started,
  });

  const servers: Informer<RawObject> = createInformer<RawObject>({
    kubeConfig,
    paths: mcpPaths,
    what: 'mcpservers',
    log,
    onChange: (kind, obj) => {
      const key = keyOf(obj);
      const parsed = McpServerSchema.safeParse(obj);
      const prefix = parsed.success ? (exposedPrefix(parsed.data) as { prefix?: string }).prefix : undefined;
      const refs = parsed.success ? referencesOf(parsed.data.spec) : { secrets: [], configMaps: [] };
      // Status writes come back as updates: only spec, finalizers and deletion are worth a reconcile.
      const generation = `${obj.metadata?.generation}|${String(obj.metadata?.deletionTimestamp ?? '')}|${(obj.metadata?.finalizers ?? []).join(',')}`;
      const before = seen.get(key);
      if (kind === 'delete') seen.delete(key);
      else seen.set(key, { generation, ...(prefix !== undefined && { prefix }), ...refs });
      if (kind === 'update' && before?.generation === generation) return;
      invalidateEvaluation();
      // Until every cache is complete nothing runs: a push computed from part of a list would remove
      // the rest from the proxies. start() enqueues everything once the caches are synced.
      if (!started) return;
      scheduleSync();
      queue.add(key);
      // Views that name this server report whether it is served.
      virtuals.enqueueAll();
      // A prefix that was taken or freed may change who holds it.
      for (const [other, s] of seen) {
        if (other !== key && s.prefix !== undefined && (s.prefix === prefix || s.prefix === before?.prefix))
          queue.add(other);
      }
    },
  });

  const secretPaths = namespaced('secrets', '/api/v1').map((path, i) => ({
    path,
    list: () =>
      options.namespaces.length === 0
        ? core.listSecretForAllNamespaces()
        : core.listNamespacedSecret({ namespace: options.namespaces[i] as string }),
  }));
  const secrets = createInformer<V1Secret>({
    kubeConfig,
    paths: secretPaths,
    what: 'secrets',
    log,
    onChange: (_kind, obj) => enqueueReferencing('secrets', obj),
  });
  const configMapPaths = namespaced('configmaps', '/api/v1').map((path, i) => ({
    path,
    list: () =>
      options.namespaces.length === 0
        ? core.listConfigMapForAllNamespaces()
        : core.listNamespacedConfigMap({ namespace: options.namespaces[i] as string }),
  }));
  const configMaps = createInformer<V1ConfigMap>({
    kubeConfig,
    paths: configMapPaths,
    what: 'configmaps',
    log,
    onChange: (_kind, obj) => enqueueReferencing('configMaps', obj),
  });

  const { namespace: svcNs, name: svcName } = options.proxyService ?? { namespace: '', name: '' };
  const slices: Informer<V1EndpointSlice> | undefined =
    options.proxyService &&
    createInformer<V1EndpointSlice>({
      kubeConfig,
      paths: [
        {
          path: `/apis/discovery.k8s.io/v1/namespaces/${svcNs}/endpointslices`,
          list: () =>
            discovery.listNamespacedEndpointSlice({
              namespace: svcNs,
              labelSelector: `kubernetes.io/service-name=${svcName}`,
            }),
        },
      ],
      labelSelector: `kubernetes.io/service-name=${svcName}`,
      what: 'endpointslices',
      log,
      onChange: () => refreshReplicas(),
    });
  const refreshReplicas = (): void => {
    const replicas = slices
      ? replicasFromSlices(slices.list(svcNs), options.proxyPortName)
      : (options.staticReplicas ?? []);
    options.metrics?.replicas.set(replicas.length);
    if (fleet.setReplicas(replicas)) {
      log.info('proxy replicas', { service, replicas: replicas.map((r) => `${r.id}=${r.url}`).join(',') });
      if (started) {
        scheduleSync();
        enqueueAll();
      }
    }
  };

  const refs: ReferenceLookup = {
    secret: (ns, name) => {
      const s = secrets.get(name, ns);
      return s ? decodeSecret(s) : undefined;
    },
    configMap: (ns, name) => {
      const c = configMaps.get(name, ns);
      return c ? { ...c.data } : undefined;
    },
  };

  const evaluateOne = (raw: RawObject): ServerResult => {
    const ns = raw.metadata?.namespace ?? '';
    const name = raw.metadata?.name ?? '';
    const backendName = backendNameFor(ns, name);
    const parsed = McpServerSchema.safeParse(raw);
    if (!parsed.success) {
      const message = formatZodIssues(parsed.error, '').join('; ');
      return {
        kind: 'rejected',
        evaluation: { kind: 'rejected', backendName, reason: Reason.InvalidSpec, message },
      };
    }
    const server = parsed.data;
    const translated = backendSpecFor(server, refs, {
      stdioAllowed: (n) => stdioAll || options.stdioNamespaces.includes(n),
      stdioHint,
    });
    const prefix = exposedPrefix(server);
    if (!translated.ok) {
      return {
        kind: 'rejected',
        evaluation: {
          kind: 'rejected',
          backendName,
          ...(prefix.ok && { prefix: prefix.prefix }),
          reason: translated.reason,
          message: translated.message,
        },
      };
    }
    // The proxy checks every definition of a sync at once: one it would reject must not block the rest.
    const check = BackendSpecSchema.safeParse(translated.spec);
    if (!check.success) {
      const message = `the proxy rejects this definition: ${formatZodIssues(check.error, 'spec').join('; ')}`;
      return {
        kind: 'rejected',
        evaluation: {
          kind: 'rejected',
          backendName,
          ...(prefix.ok && { prefix: prefix.prefix }),
          reason: Reason.InvalidSpec,
          message,
        },
      };
    }
    return { kind: 'spec', server, backendName, spec: translated.spec, hash: specHash(translated.spec) };
  };

  // Every reconcile and every push evaluates all servers; parsing and translating each is the costly
  // part (measured: most of the operator's CPU with 200 servers applied at once). The informers hand
  // out a new object for every change, so a result is kept per cached object and reused while the
  // Secrets and ConfigMaps it reads are the same versions.
  const evaluatedObjects = new WeakMap<RawObject, { refs: string; result: ServerResult }>();
  const referencedVersions = (raw: RawObject): string => {
    const s = seen.get(keyOf(raw));
    if (!s || (s.secrets.length === 0 && s.configMaps.length === 0)) return '';
    const ns = raw.metadata?.namespace;
    const version = (o: KubernetesObject | undefined) => o?.metadata?.resourceVersion ?? '-';
    return [
      ...s.secrets.map((n) => `s:${n}@${version(secrets.get(n, ns))}`),
      ...s.configMaps.map((n) => `c:${n}@${version(configMaps.get(n, ns))}`),
    ].join(',');
  };
  const evaluateCached = (raw: RawObject): ServerResult => {
    const refsNow = referencedVersions(raw);
    const memo = evaluatedObjects.get(raw);
    if (memo && memo.refs === refsNow) return memo.result;
    const result = evaluateOne(raw);
    evaluatedObjects.set(raw, { refs: refsNow, result });
    return result;
  };

  // The whole evaluation is kept until a cache changes in a way that can change it (a spec, a
  // deletion, a Secret or ConfigMap): status writes, which come back as updates, do not.
  let evaluatedAll: { evaluations: Map<string, Evaluation>; desired: DesiredSet } | undefined;
  const invalidateEvaluation = (): void => {
    evaluatedAll = undefined;
  };
  const evaluateAll = (): { evaluations: Map<string, Evaluation>; desired: DesiredSet } =>
    (evaluatedAll ??= computeEvaluation());

  /** The whole desired state, from the caches: each server's evaluation and the replicas' set. */
  const computeEvaluation = (): { evaluations: Map<string, Evaluation>; desired: DesiredSet } => {
    const { evaluations, served: specs } = resolveServers(
      servers
        .list()
        .filter((raw) => !raw.metadata?.deletionTimestamp)
        .map((raw) => ({
          key: keyOf(raw),
          createdAt: timeOf(raw.metadata?.creationTimestamp),
          result: evaluateCached(raw),
        })),
    );
    const backends: Record<string, BackendSpec> = {};
    const hashes: Record<string, string> = {};
    for (const s of specs.values()) {
      backends[s.backendName] = s.spec;
      hashes[s.backendName] = s.hash;
    }
    const served = new Set(Object.keys(backends));
    const views = virtuals.evaluate(served);
    const revision = specHash([
      Object.keys(backends)
        .sort()
        .map((n) => [n, hashes[n]]),
      // Left out until McpVirtualServers are listed, so a proxy keeps what it has meanwhile.
      ...(views ? [Object.entries(views.hashes).sort()] : []),
    ]);
    const desired: DesiredSet = {
      revision,
      backends,
      hashes,
      ...(views && { virtualServers: views.specs, virtualHashes: views.hashes }),
    };
    return { evaluations, desired };
  };

  const patchOptions = (strategy: string) => setHeaderOptions('Content-Type', strategy);

  const setFinalizers = async (raw: RawObject, finalizers: string[]): Promise<void> => {
    const [namespace, name] = splitKey(keyOf(raw));
    const current = raw.metadata?.finalizers;
    // test + replace: fails (and is retried) if someone else changed the list meanwhile.
    const body =
      current === undefined
        ? [{ op: 'add', path: '/metadata/finalizers', value: finalizers }]
        : [
            { op: 'test', path: '/metadata/finalizers', value: current },
            { op: 'replace', path: '/metadata/finalizers', value: finalizers },
          ];
    await custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body, fieldManager: FIELD_MANAGER },
      patchOptions(PatchStrategy.JsonPatch),
    );
  };

  const writeStatus = async (raw: RawObject, status: McpServerStatus): Promise<void> => {
    if (raw.status && canonicalJson(raw.status) === canonicalJson(status)) return;
    recordTransitions(raw, status);
    options.metrics?.statusWrites.inc();
    const [namespace, name] = splitKey(keyOf(raw));
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, status },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      patchOptions(PatchStrategy.ServerSideApply),
    );
  };

  // Events for what a person would want to see in `kubectl describe`: the transitions, not every write.
  const recordTransitions = (raw: RawObject, status: McpServerStatus): void => {
    const before = raw.status?.conditions ?? [];
    for (const type of [ConditionType.Accepted, ConditionType.Ready, ConditionType.Conflict]) {
      const next = status.conditions?.find((c) => c.type === type);
      const prev = before.find((c) => c.type === type);
      if (!next || prev?.status === next.status) continue;
      const warning =
        (type === ConditionType.Ready && next.status === 'False' && prev !== undefined) ||
        (type !== ConditionType.Ready &&
          next.status === (type === ConditionType.Accepted ? 'False' : 'True'));
      if (type === ConditionType.Ready && next.status === 'False' && prev === undefined) continue;
      void emitEvent(
        raw,
        warning ? 'Warning' : 'Normal',
        next.reason,
        `${type}=${next.status}: ${next.message}`,
      );
    }
  };
  const emitEvent = async (raw: RawObject, type: 'Normal' | 'Warning', reason: string, message: string) => {
    const [namespace, name] = splitKey(keyOf(raw));
    const now = new Date();
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: {
            apiVersion: API_VERSION,
            kind: KIND,
            name,
            namespace,
            ...(raw.metadata?.uid && { uid: raw.metadata.uid }),
          },
          type,
          reason,
          message: message.slice(0, 1024),
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: FIELD_MANAGER },
          reportingComponent: FIELD_MANAGER,
          reportingInstance: options.identity ?? FIELD_MANAGER,
        },
      });
    } catch (error) {
      log.debug('event not recorded', { mcpserver: `${namespace}/${name}`, error: String(error) });
    }
  };

  /** Pushes the desired set; reads the replicas back, and pushes again to one that lost its state. */
  const converge = async (desired: DesiredSet): Promise<void> => {
    await fleet.converge(desired);
    const drifted = await fleet.observe(OBSERVE_MAX_AGE_MS);
    if (drifted) {
      await fleet.converge(desired);
      await fleet.observe();
    }
  };

  // spec.deployment. Per key, the uid of an McpServer known to have no Deployment or Service of
  // ours, so the servers that never had one cost no API calls on every reconcile.
  const withoutWorkload = new Map<string, string>();
  /** The Deployment and Service, applied server-side; returns the Deployment's availability. */
  const applyWorkload = async (server: McpServer): Promise<{ ready: boolean; message: string }> => {
    withoutWorkload.delete(`${server.metadata.namespace}/${server.metadata.name}`);
    return workloads.apply(server, referencedEnvHash(server, refs));
  };
  /** Deletes them once the McpServer no longer wants them (no GC needed, and none acts on a spec change). */
  const removeWorkload = async (raw: RawObject): Promise<void> => {
    const key = keyOf(raw);
    const uid = raw.metadata?.uid;
    if (!uid || withoutWorkload.get(key) === uid) return;
    // Never reconciled (no status yet): nothing of ours exists, so a new server costs no reads.
    if (raw.status?.observedGeneration !== undefined) {
      const [namespace, name] = splitKey(key);
      const removed = await workloads.remove(namespace, name, uid);
      if (removed.length > 0) log.info('workload removed', { mcpserver: key, removed: removed.join(', ') });
    }
    withoutWorkload.set(key, uid);
  };

  const reconcileDelete = async (raw: RawObject): Promise<WorkResult> => {
    if (!raw.metadata?.finalizers?.includes(FINALIZER)) return {};
    // The desired set leaves out servers being deleted; a replica that cannot be reached gets the
    // removal with its next full sync, so deletion never waits for a dead pod.
    const { desired } = evaluateAll();
    await fleet.converge(desired);
    statusBasis.delete(keyOf(raw));
    const backendName = backendNameFor(raw.metadata.namespace ?? '', raw.metadata.name ?? '');
    const stillThere = fleet
      .states()
      .filter((s) => s.error === undefined && s.applied && backendName in s.applied.hashes);
    if (stillThere.length > 0) throw new Error(`still on ${stillThere.map((s) => s.replica.id).join(', ')}`);
    await removeWorkload(raw);
    await setFinalizers(
      raw,
      raw.metadata.finalizers.filter((f) => f !== FINALIZER),
    );
    log.info('mcpserver released', {
      mcpserver: keyOf(raw),
      unreachable: fleet.states().filter((s) => s.error).length,
    });
    return {};
  };

  const reconcileNormal = async (raw: RawObject): Promise<WorkResult> => {
    const key = keyOf(raw);
    const { evaluations, desired } = evaluateAll();
    const parsedFirst = McpServerSchema.safeParse(raw);
    const served = evaluations.get(key);
    const wantsWorkload =
      parsedFirst.success &&
      parsedFirst.data.spec.deployment !== undefined &&
      served?.kind === 'served' &&
      !served.disabled;
    const workload = wantsWorkload ? await applyWorkload(parsedFirst.data) : undefined;
    await converge(desired);
    // After the push, so the finalizer's round trip is not on the way to callable. Safe: a server
    // deleted before it has the finalizer is gone from the cache, and reconcile of a gone key converges.
    if (!raw.metadata?.finalizers?.includes(FINALIZER)) {
      await setFinalizers(raw, [...(raw.metadata?.finalizers ?? []), FINALIZER]);
    }
    const evaluation = evaluations.get(key);
    const parsed = McpServerSchema.safeParse(raw);
    if (!evaluation) return {};
    // An object the schema rejects still gets a status: build it from what there is.
    const server: McpServer = parsed.success
      ? parsed.data
      : ({ ...(raw as object), spec: { url: 'http://invalid' } } as unknown as McpServer);
    // Read the newest copy: the finalizer patch or an earlier status write may have changed it.
    const current = (servers.get(raw.metadata?.name ?? '', raw.metadata?.namespace) ?? raw) as RawObject;
    const states = fleet.states();
    const status = statusFor(
      { ...server, status: current.status } as McpServer,
      evaluation,
      states,
      service,
      undefined,
      workload,
    );
    const basis =
      evaluation.kind === 'served'
        ? replicaFacts(states, evaluation.backendName, evaluation.hash)
        : undefined;
    await writeStatus(current, status);
    if (basis === undefined) statusBasis.delete(key);
    else statusBasis.set(key, basis);
    if (!wantsWorkload) await removeWorkload(raw);
    if (settling(status)) return { requeueAfterMs: nextCheck(key) };
    checks.delete(key);
    return {};
  };

  // What each served McpServer's status was last computed from (replicaFacts). Nothing else tells the
  // operator that a backend broke or came back, so every interval the replicas are read once and
  // only the servers whose facts moved are reconciled; an unchanged one costs no status write.
  const statusBasis = new Map<string, string>();
  let refreshing = false;
  const refreshStatuses = async (): Promise<void> => {
    if (refreshing) return;
    refreshing = true;
    try {
      // A replica that lost the operator's backends (it restarted), or answers again without them
      // after a failed push, gets the set at once rather than at the next resync.
      const drifted = await fleet.observe(OBSERVE_MAX_AGE_MS);
      const states = fleet.states();
      if (drifted || states.some((s) => s.applied === undefined && s.report !== undefined)) scheduleSync();
      for (const [key, evaluation] of evaluateAll().evaluations) {
        const basis = statusBasis.get(key);
        if (basis === undefined || evaluation.kind !== 'served') continue;
        if (replicaFacts(states, evaluation.backendName, evaluation.hash) !== basis) queue.add(key);
      }
    } catch (error) {
      log.warn('status refresh failed', { error: describeError(error) });
    } finally {
      refreshing = false;
    }
  };

  // While a server is connecting, look again soon, then less often.
  const checks = new Map<string, number>();
  const nextCheck = (key: string): number => {
    const n = (checks.get(key) ?? 0) + 1;
    checks.set(key, n);
    // Up to 1 s apart for the first ~20 checks (a stdio server takes a second or two to start), then 5 s.
    return n > 20 ? 5_000 : Math.min(1_000, 50 * 2 ** (n - 1));
  };

  const reconcile = async (key: string): Promise<WorkResult> => {
    if (key.startsWith(VIRTUAL_KEY_PREFIX)) {
      return reconcileVirtual(virtuals, key.slice(VIRTUAL_KEY_PREFIX.length), {
        converge: () => converge(evaluateAll().desired),
        states: () => fleet.states(),
        evaluate: () => evaluateAll(),
      });
    }
    const [namespace, name] = splitKey(key);
    const raw = servers.get(name, namespace);
    if (!raw) {
      // Gone (deleted without our finalizer, or released): make sure no replica serves it.
      checks.delete(key);
      statusBasis.delete(key);
      withoutWorkload.delete(key);
      const { desired } = evaluateAll();
      await fleet.converge(desired);
      return {};
    }
    if (raw.metadata?.deletionTimestamp) return reconcileDelete(raw);
    return reconcileNormal(raw);
  };

  let started = false;
  let resyncTimer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  return {
    fleet,
    queue,
    synced: () => started,
    async start() {
      // Caches first, so the first push holds every server (no removal of what a restarted operator has not listed yet).
      await Promise.all([secrets.start(), configMaps.start(), slices?.start()]);
      refreshReplicas();
      await servers.start();
      started = true;
      // Not awaited: a cluster without the McpVirtualServer CRD yet (an upgrade whose CRDs are not
      // applied) must still serve McpServers; views join the pushes once they are listed.
      void virtuals.start().then(() => {
        scheduleSync();
        virtuals.enqueueAll();
      });
      log.info('caches synced', { mcpservers: servers.list().length, replicas: fleet.states().length });
      enqueueAll();
      if (servers.list().length === 0) {
        // Nothing to reconcile, but replicas must still lose what an earlier operator pushed.
        void fleet.converge(evaluateAll().desired);
      }
      resyncTimer = setInterval(() => {
        invalidateEvaluation();
        fleet.requestResync();
        void fleet.converge(evaluateAll().desired).then(enqueueAll);
      }, options.resyncMs);
      resyncTimer.unref();
      statusTimer = setInterval(
        () => void refreshStatuses(),
        options.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS,
      );
      statusTimer.unref();
    },
    async stop() {
      if (resyncTimer) clearInterval(resyncTimer);
      if (statusTimer) clearInterval(statusTimer);
      await queue.shutDown();
      await Promise.all([servers.stop(), secrets.stop(), configMaps.stop(), slices?.stop(), virtuals.stop()]);
    },
  };
}
