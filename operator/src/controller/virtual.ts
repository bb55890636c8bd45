import type { VirtualServerSpec } from '@multi-mcp/proxy/contract';
import type { McpVirtualServer, McpVirtualServerStatus } from '../api/index.js';
import type { ReplicaState } from '../proxyclient/fleet.js';
import { backendNameFor, specHash } from './backend.js';
import { ConditionType, Reason, setCondition } from './conditions.js';

// McpVirtualServer → the proxy's virtual server definition, and the status that reports it. Pure:
// the controller supplies the caches and the fleet's state.

/** Queue keys of McpVirtualServers carry this prefix; McpServer keys are plain `ns/name`. */
export const VIRTUAL_KEY_PREFIX = 'McpVirtualServer:';

/** The name on the proxies (and so the endpoint path): `<namespace>_<name>`, as for McpServers. */
export const virtualServerNameFor = backendNameFor;

/** `name` (same namespace) or `namespace/name` → the McpServer it means. */
export function referencedServer(namespace: string, ref: string): { namespace: string; name: string } {
  const slash = ref.indexOf('/');
  return slash === -1
    ? { namespace, name: ref }
    : { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

/** The proxy's definition: McpServer references become backend names; the rest is passed as written. */
export function virtualServerSpecFor(vs: McpVirtualServer): { spec: VirtualServerSpec; hash: string } {
  const { backends, tools, scopes, claims } = vs.spec;
  const spec: VirtualServerSpec = {
    ...(backends && {
      backends: backends.map((ref) => {
        const { namespace, name } = referencedServer(vs.metadata.namespace, ref);
        return backendNameFor(namespace, name);
      }),
    }),
    ...(tools && { tools }),
    ...(scopes && { scopes }),
    ...(claims && { claims }),
  };
  return { spec, hash: specHash(spec) };
}

export interface VirtualEvaluation {
  name: string;
  hash: string;
  backends: string[] | undefined;
  /** References to McpServers that do not exist or that no replica is told to serve. */
  unserved: string[];
}

/** Status as measured: which replicas accepted this definition, and whether what it names is served. */
export function virtualStatusFor(
  vs: McpVirtualServer,
  evaluation: VirtualEvaluation | { rejected: string },
  states: readonly ReplicaState[],
  now?: () => Date,
): McpVirtualServerStatus {
  const generation = vs.metadata.generation;
  let conditions = vs.status?.conditions ?? [];
  const set = (type: ConditionType, status: 'True' | 'False', reason: Reason, message: string): void => {
    conditions = setCondition(conditions, { type, status, reason, message }, generation, now);
  };
  if ('rejected' in evaluation) {
    set(ConditionType.Accepted, 'False', Reason.InvalidSpec, evaluation.rejected);
    set(ConditionType.Ready, 'False', Reason.NotAccepted, 'the spec is not valid');
    set(ConditionType.Stalled, 'True', Reason.InvalidSpec, evaluation.rejected);
    return {
      ...(generation !== undefined && { observedGeneration: generation }),
      conditions,
      lastError: evaluation.rejected,
    };
  }
  set(ConditionType.Accepted, 'True', Reason.Valid, 'the spec is valid');
  conditions = conditions.filter((c) => c.type !== ConditionType.Stalled);
  const synced = states.filter((s) => s.applied?.virtualHashes?.[evaluation.name] === evaluation.hash);
  const problems = states
    .filter((s) => !synced.includes(s))
    .map((s) => `${s.replica.id}: ${s.error ?? 'not applied yet'}`);
  const endpoint = `/mcp/${evaluation.name}`;
  if (states.length === 0) {
    set(ConditionType.Ready, 'False', Reason.NoReplicas, 'no proxy replica to serve it');
  } else if (problems.length > 0) {
    set(
      ConditionType.Ready,
      'False',
      synced.length > 0 ? Reason.PartiallySynced : Reason.NotSynced,
      `on ${synced.length}/${states.length} replicas (${problems.join('; ')})`,
    );
  } else if (evaluation.unserved.length > 0) {
    set(
      ConditionType.Ready,
      'False',
      Reason.BackendNotServed,
      `served at ${endpoint}, but these McpServers are not served, so it shows nothing of them: ${evaluation.unserved.join(', ')}`,
    );
  } else {
    set(
      ConditionType.Ready,
      'True',
      Reason.Ready,
      `served at ${endpoint} on ${states.length}/${states.length} replicas`,
    );
  }
  return {
    ...(generation !== undefined && { observedGeneration: generation }),
    conditions,
    virtualServerName: evaluation.name,
    endpoint,
    sseEndpoint: `/sse/${evaluation.name}`,
    ...(evaluation.backends && { backends: evaluation.backends }),
    synced: `${synced.length}/${states.length}`,
    ...(problems.length > 0 && { lastError: problems.join('; ') }),
  };
}
