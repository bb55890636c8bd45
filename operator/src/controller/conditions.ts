import type { Condition } from '../api/index.js';

/** Condition types of an McpServer (kstatus reads Ready with observedGeneration). */
export const ConditionType = {
  Accepted: 'Accepted',
  Synced: 'Synced',
  Ready: 'Ready',
  Conflict: 'Conflict',
  /**
   * kstatus's word for "will not progress without a change" (Flux's Failed): set while the spec is
   * refused or its prefix is held by another server, since neither heals by waiting.
   */
  Stalled: 'Stalled',
  /**
   * True while a replica quarantines tools whose definition no longer matches their pin; the
   * message names them and the hashes to commit to spec.tools.pins to approve the change.
   */
  ToolsDrifted: 'ToolsDrifted',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Reasons, CamelCase as Kubernetes wants them. */
export const Reason = {
  Valid: 'Valid',
  InvalidSpec: 'InvalidSpec',
  ReferenceNotFound: 'ReferenceNotFound',
  StdioNotAllowed: 'StdioNotAllowed',
  NotSupported: 'NotSupported',
  Synced: 'Synced',
  PartiallySynced: 'PartiallySynced',
  NotSynced: 'NotSynced',
  NoReplicas: 'NoReplicas',
  NotAccepted: 'NotAccepted',
  Ready: 'Ready',
  Connecting: 'Connecting',
  BackendFailed: 'BackendFailed',
  Disabled: 'Disabled',
  PrefixConflict: 'PrefixConflict',
  NoConflict: 'NoConflict',
  Deleting: 'Deleting',
  DeploymentNotAvailable: 'DeploymentNotAvailable',
  DefinitionChanged: 'DefinitionChanged',
  PinsMatch: 'PinsMatch',
  /** McpVirtualServer: a named McpServer does not exist or is not served. */
  BackendNotServed: 'BackendNotServed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface ConditionInput {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: Reason;
  message: string;
}

/**
 * Sets one condition in `conditions` (a new array; input untouched), as meta.SetStatusCondition does:
 * `lastTransitionTime` moves only when the status changes, so a re-write of the same state is a no-op.
 */
export function setCondition(
  conditions: readonly Condition[],
  input: ConditionInput,
  observedGeneration: number | undefined,
  now: () => Date = () => new Date(),
): Condition[] {
  const previous = conditions.find((c) => c.type === input.type);
  const lastTransitionTime =
    previous && previous.status === input.status ? previous.lastTransitionTime : formatTime(now());
  const next: Condition = {
    ...input,
    lastTransitionTime,
    ...(observedGeneration !== undefined && { observedGeneration }),
  };
  const others = conditions.filter((c) => c.type !== input.type);
  return [...others, next].sort((a, b) => order(a.type) - order(b.type));
}

/** Removes a condition that no longer applies (Conflict once the conflict is gone). */
export function removeCondition(conditions: readonly Condition[], type: ConditionType): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

const ORDER: string[] = [
  ConditionType.Accepted,
  ConditionType.Synced,
  ConditionType.Ready,
  ConditionType.Conflict,
  ConditionType.Stalled,
  ConditionType.ToolsDrifted,
];
const order = (type: string): number => {
  const i = ORDER.indexOf(type);
  return i === -1 ? ORDER.length : i;
};

/** RFC 3339 with seconds, as the API server stores metav1.Time. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
