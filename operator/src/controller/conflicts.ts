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
