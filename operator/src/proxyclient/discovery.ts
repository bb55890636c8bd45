import type { V1EndpointSlice } from '@kubernetes/client-node';

/** One proxy replica's admin API, as its admin Service's EndpointSlices list it. */
export interface Replica {
  /** The pod name when the slice names it, else address:port; used in status messages. */
  id: string;
  url: string;
}

/**
 * The ready endpoints of the admin Service (slices with the `kubernetes.io/service-name` label).
 * `port` picks the slice port by name (`admin`, say); without it the first port is used.
 * Endpoints whose `ready` condition is false are left out; unknown (nil) counts as ready, as in
 * kube-proxy.
 */
export function replicasFromSlices(slices: readonly V1EndpointSlice[], portName?: string): Replica[] {
  const replicas = new Map<string, Replica>();
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const port = portName === undefined ? slice.ports?.[0] : slice.ports?.find((p) => p.name === portName);
    if (port?.port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      const address = endpoint.addresses[0];
      if (address === undefined) continue;
      const host = slice.addressType === 'IPv6' ? `[${address}]` : address;
      const url = `http://${host}:${port.port}`;
      const id = endpoint.targetRef?.name ?? `${address}:${port.port}`;
      replicas.set(url, { id, url });
    }
  }
  return [...replicas.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
