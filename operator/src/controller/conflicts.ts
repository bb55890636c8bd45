import type { BackendSpec } from '@multi-mcp/proxy/contract';
import type { McpServer } from '../api/index.js';
import type { Evaluation } from './status.js';

/** One McpServer's claim on an exposed prefix. */
export interface PrefixClaim {
  key: string;
  prefix: string;
  /** creationTimestamp in ms; the earlier claim keeps the prefix. */
  createdAt: number;
}

/**
 * Who holds each prefix: for every claim that loses, the key of the claim that keeps the prefix.
 * The earliest-created wins (ties: the smaller key), so the outcome depends only on the set of
 * claims, never on the order events arrived in, and an exposed name never moves to a newcomer.
 * The empty prefix exposes names unchanged and is shared: tool-level collisions are the proxy's.
 */
export function prefixConflicts(claims: readonly PrefixClaim[]): Map<string, string> {
  const byPrefix = new Map<string, PrefixClaim[]>();
  for (const claim of claims) {
    if (claim.prefix === '') continue;
    const list = byPrefix.get(claim.prefix) ?? [];
    list.push(claim);
    byPrefix.set(claim.prefix, list);
  }
  const losers = new Map<string, string>();
  for (const list of byPrefix.values()) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const [winner, ...rest] = list as [PrefixClaim, ...PrefixClaim[]];
    for (const loser of rest) losers.set(loser.key, winner.key);
  }
  return losers;
}

/** One server's part of the desired state before prefix conflicts: its definition, or why it has none. */
export type ServerResult =
  | { kind: 'rejected'; evaluation: Extract<Evaluation, { kind: 'rejected' }> }
  | { kind: 'spec'; server: McpServer; backendName: string; spec: BackendSpec; hash: string };
export type SpecResult = Extract<ServerResult, { kind: 'spec' }>;

/**
 * Decides which servers are served: each one's evaluation, and the definitions to push. Every server
 * with a valid prefix claims it, accepted or not: a server that briefly loses Accepted (a Secret it
 * reads was deleted, a bad edit) keeps its prefix, so a newer one never takes it over and the
 * exposed names never move because of it.
 */
export function resolveServers(
  servers: readonly { key: string; createdAt: number; result: ServerResult }[],
): { evaluations: Map<string, Evaluation>; served: Map<string, SpecResult> } {
  const losers = prefixConflicts(
    servers.flatMap(({ key, createdAt, result }) => {
      const prefix = result.kind === 'spec' ? (result.spec.prefix ?? '') : result.evaluation.prefix;
      return prefix === undefined ? [] : [{ key, prefix, createdAt }];
    }),
  );
  const evaluations = new Map<string, Evaluation>();
  const served = new Map<string, SpecResult>();
  for (const { key, result } of servers) {
    if (result.kind === 'rejected') {
      evaluations.set(key, result.evaluation);
      continue;
    }
    const prefix = result.spec.prefix ?? '';
    const heldBy = losers.get(key);
    if (heldBy !== undefined) {
      evaluations.set(key, { kind: 'conflict', backendName: result.backendName, prefix, heldBy });
      continue;
    }
    served.set(key, result);
    evaluations.set(key, {
      kind: 'served',
      backendName: result.backendName,
      prefix,
      hash: result.hash,
      disabled: result.spec.disabled === true,
    });
  }
  return { evaluations, served };
}
