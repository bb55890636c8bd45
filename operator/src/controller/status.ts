import type { Condition, McpServer, McpServerStatus } from '../api/index.js';
import { MAX_STATUS_TOOLS, modeOf } from '../api/index.js';
import type { ReplicaState } from '../proxyclient/fleet.js';
import type { ConditionInput } from './conditions.js';
import { ConditionType, Reason, removeCondition, setCondition } from './conditions.js';

/** What reconcile decided about one McpServer before looking at the replicas. */
export type Evaluation =
  | { kind: 'rejected'; backendName: string; prefix?: string; reason: Reason; message: string }
  | { kind: 'conflict'; backendName: string; prefix: string; heldBy: string }
  | { kind: 'served'; backendName: string; prefix: string; hash: string; disabled: boolean };

export interface ReplicaView {
  id: string;
  synced: boolean;
  /** Why it is not synced. */
  problem?: string;
  state?: string;
  error?: string | null;
}

/** Per replica: does it run this server's current definition, and in which state. */
export function replicaViews(
  states: readonly ReplicaState[],
  backendName: string,
  hash: string,
): ReplicaView[] {
  return states.map((s) => {
    const applied = s.applied?.hashes[backendName] === hash;
    const reported = s.report?.backends.get(backendName);
    if (!applied) {
      return { id: s.replica.id, synced: false, problem: s.error ?? 'not applied yet' };
    }
    if (s.report && !reported) return { id: s.replica.id, synced: false, problem: 'missing on the replica' };
    return {
      id: s.replica.id,
      synced: true,
      state: reported?.state ?? 'unknown',
      error: reported?.error ?? null,
    };
  });
}

/**
 * Everything `statusFor` reads from the replicas about one backend, as one comparable string: the
 * status poll re-reconciles a server only when this differs from what its status was computed from.
 */
export function replicaFacts(states: readonly ReplicaState[], backendName: string, hash: string): string {
  return JSON.stringify(
    replicaViews(states, backendName, hash).map((view, i) => {
      const r = states[i]?.report?.backends.get(backendName);
      const reported = r && [
        r.state,
        r.error ?? null,
        r.transport ?? null,
        r.tools,
        r.serverInfo ?? null,
        r.toolDefinitions ?? null,
        r.drifted ?? null,
      ];
      return [view, reported ?? null];
    }),
  );
}

const list = (views: readonly ReplicaView[], what: (v: ReplicaView) => string): string =>
  views.map((v) => `${v.id}: ${what(v)}`).join('; ');

function transportOf(server: McpServer, states: readonly ReplicaState[], backendName: string): string {
  for (const s of states) {
    const t = s.report?.backends.get(backendName)?.transport;
    if (t) return t;
  }
  const mode = modeOf(server.spec);
  if (mode === 'command') return 'stdio';
  if (mode === 'url') return server.spec.transport ?? 'auto';
  return 'streamable-http';
}

/** The status reconcile writes: every part read back from the replicas, none assumed. */
export function statusFor(
  server: McpServer,
  evaluation: Evaluation,
  states: readonly ReplicaState[],
  serviceName: string,
  now?: () => Date,
  /** For spec.deployment: whether the operator's Deployment is available. */
  workload?: { ready: boolean; message: string },
): McpServerStatus {
  const generation = server.metadata.generation;
  let conditions: Condition[] = server.status?.conditions ?? [];
  const set = (input: ConditionInput): void => {
    conditions = setCondition(conditions, input, generation, now);
  };
  const total = states.length;
  const base: McpServerStatus = {
    observedGeneration: generation,
    backendName: evaluation.backendName,
    ...(evaluation.prefix !== undefined && { prefix: evaluation.prefix }),
    transport: transportOf(server, states, evaluation.backendName),
  };

  /** Refused or in conflict: waiting cannot help (kstatus Stalled), and no replica serves it. */
  const servesNothing = (reason: Reason, message: string): McpServerStatus => {
    set({ type: ConditionType.Stalled, status: 'True', reason, message });
    conditions = removeCondition(conditions, ConditionType.ToolsDrifted);
    return {
      ...base,
      conditions,
      synced: `0/${total}`,
      replicas: { synced: 0, total },
      toolCount: 0,
      lastError: message,
    };
  };

  if (evaluation.kind === 'rejected') {
    set({
      type: ConditionType.Accepted,
      status: 'False',
      reason: evaluation.reason,
      message: evaluation.message,
    });
    set({ type: ConditionType.Synced, status: 'False', reason: Reason.NotAccepted, message: 'not accepted' });
    set({
      type: ConditionType.Ready,
      status: 'False',
      reason: Reason.NotAccepted,
      message: evaluation.message,
    });
    conditions = removeCondition(conditions, ConditionType.Conflict);
    return servesNothing(evaluation.reason, evaluation.message);
  }

  set({
    type: ConditionType.Accepted,
    status: 'True',
    reason: Reason.Valid,
    message: 'spec valid, references resolved',
  });

  if (evaluation.kind === 'conflict') {
    const message =
      `prefix "${evaluation.prefix}" is held by McpServer ${evaluation.heldBy}, created earlier; ` +
      'this server serves nothing until that one is gone or one of them changes spec.prefix';
    set({ type: ConditionType.Synced, status: 'False', reason: Reason.PrefixConflict, message });
    set({ type: ConditionType.Ready, status: 'False', reason: Reason.PrefixConflict, message });
    set({ type: ConditionType.Conflict, status: 'True', reason: Reason.PrefixConflict, message });
    return servesNothing(Reason.PrefixConflict, message);
  }
  conditions = removeCondition(conditions, ConditionType.Conflict);
  conditions = removeCondition(conditions, ConditionType.Stalled);

  const views = replicaViews(states, evaluation.backendName, evaluation.hash);
  const synced = views.filter((v) => v.synced);
  const failed = views.filter((v) => !v.synced);
  const counts = `${synced.length}/${total} replicas`;
  if (total === 0) {
    const message = `no ready endpoints in the EndpointSlices of the proxy admin Service ${serviceName}`;
    set({ type: ConditionType.Synced, status: 'False', reason: Reason.NoReplicas, message });
  } else if (failed.length === 0) {
    set({ type: ConditionType.Synced, status: 'True', reason: Reason.Synced, message: counts });
  } else {
    set({
      type: ConditionType.Synced,
      status: 'False',
      reason: synced.length > 0 ? Reason.PartiallySynced : Reason.NotSynced,
      message: `${counts}; failed: ${list(failed, (v) => v.problem ?? 'unknown')}`,
    });
  }

  const readyOn = synced.filter((v) => v.state === 'ready');
  // Reconnecting after a failure is still broken: the status names the last error, not "connecting".
  const broken = synced.filter((v) => v.state === 'failed' || (v.state === 'connecting' && !!v.error));
  const reportOf = states
    .map((s) => s.report?.backends.get(evaluation.backendName))
    .find((r) => r?.state === 'ready');
  const tools = reportOf?.tools ?? [];
  let lastError: string | undefined = failed[0]?.problem;
  if (workload && !workload.ready && !evaluation.disabled) {
    lastError = workload.message;
    set({
      type: ConditionType.Ready,
      status: 'False',
      reason: Reason.DeploymentNotAvailable,
      message: workload.message,
    });
  } else if (evaluation.disabled) {
    set({
      type: ConditionType.Ready,
      status: 'False',
      reason: Reason.Disabled,
      message: 'spec.disabled is true',
    });
  } else if (total > 0 && readyOn.length === total) {
    set({
      type: ConditionType.Ready,
      status: 'True',
      reason: Reason.Ready,
      message: `connected on ${readyOn.length}/${total} replicas, ${tools.length} tools`,
    });
  } else if (broken.length > 0) {
    lastError = broken[0]?.error ?? lastError ?? 'failed';
    set({
      type: ConditionType.Ready,
      status: 'False',
      reason: Reason.BackendFailed,
      message: `ready on ${readyOn.length}/${total} replicas; ${list(broken, (v) => v.error ?? 'failed')}`,
    });
  } else {
    set({
      type: ConditionType.Ready,
      status: 'False',
      reason: total === 0 ? Reason.NoReplicas : Reason.Connecting,
      message: `ready on ${readyOn.length}/${total} replicas`,
    });
  }

  const drift = driftedTools(states, evaluation.backendName, new Set(synced.map((v) => v.id)));
  if (drift.length > 0) {
    set({
      type: ConditionType.ToolsDrifted,
      status: 'True',
      reason: Reason.DefinitionChanged,
      message: driftMessage(drift),
    });
  } else if (synced.some((v) => v.state === 'ready')) {
    set({
      type: ConditionType.ToolsDrifted,
      status: 'False',
      reason: Reason.PinsMatch,
      message: 'no tool is quarantined: every pinned tool matches its pin',
    });
  }
  const definitions = reportOf?.toolDefinitions ?? [];

  return {
    ...base,
    conditions,
    synced: `${synced.length}/${total}`,
    replicas: { synced: synced.length, total },
    toolCount: tools.length,
    ...(tools.length > 0 && { tools: tools.slice(0, MAX_STATUS_TOOLS) }),
    ...(definitions.length > 0 && {
      toolDefinitions: definitions.slice(0, MAX_STATUS_TOOLS).map((d) => ({
        name: d.name,
        ...(typeof d.exposed === 'string' && { exposed: d.exposed }),
        hash: d.hash,
        state: d.state,
      })),
    }),
    ...(reportOf?.serverInfo && {
      serverInfo: {
        name: reportOf.serverInfo.name,
        version: reportOf.serverInfo.version,
        ...(reportOf.serverInfo.protocolVersion !== undefined && {
          protocolVersion: reportOf.serverInfo.protocolVersion,
        }),
      },
    }),
    ...(lastError !== undefined && { lastError }),
  };
}

interface DriftedTool {
  name: string;
  /** The hash each replica serves now, with the replicas that quarantine it. */
  hashes: Map<string, string[]>;
}

/** Tools the synced replicas quarantine for drift, by original name, in first-seen order. */
function driftedTools(
  states: readonly ReplicaState[],
  backendName: string,
  synced: ReadonlySet<string>,
): DriftedTool[] {
  const byName = new Map<string, DriftedTool>();
  for (const s of states) {
    if (!synced.has(s.replica.id)) continue;
    const report = s.report?.backends.get(backendName);
    for (const name of report?.drifted ?? []) {
      const hash = report?.toolDefinitions?.find((d) => d.name === name)?.hash ?? 'unknown';
      const tool = byName.get(name) ?? { name, hashes: new Map<string, string[]>() };
      tool.hashes.set(hash, [...(tool.hashes.get(hash) ?? []), s.replica.id]);
      byName.set(name, tool);
    }
  }
  return [...byName.values()];
}

const MAX_DRIFT_IN_MESSAGE = 20;

function driftMessage(drift: readonly DriftedTool[]): string {
  const shown = drift.slice(0, MAX_DRIFT_IN_MESSAGE).map((tool) => {
    const now = [...tool.hashes].map(([hash, replicas]) => `${hash} on ${replicas.join(', ')}`).join('; ');
    return `${tool.name} (now ${now})`;
  });
  const more = drift.length > MAX_DRIFT_IN_MESSAGE ? ` and ${drift.length - MAX_DRIFT_IN_MESSAGE} more` : '';
  return (
    `quarantined because their definition changed since it was pinned: ${shown.join(', ')}${more}. ` +
    'Review the change, then approve it by committing the new hash to spec.tools.pins.<tool>'
  );
}

/** True when the status is Accepted and served, but not Ready everywhere yet (come back soon). */
export function settling(status: McpServerStatus): boolean {
  const get = (type: string) => status.conditions?.find((c) => c.type === type);
  return (
    get(ConditionType.Accepted)?.status === 'True' &&
    get(ConditionType.Conflict) === undefined &&
    get(ConditionType.Ready)?.status !== 'True'
  );
}
