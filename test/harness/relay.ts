import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A TCP relay between the informer and the API server (TLS passes through untouched), so a test
 * can break the informer's connections the way a network or an API server restart does: `cut()`
 * resets every open connection (the watch in flight ends with an error), `refuse()` resets new
 * ones as they arrive, until `accept()`; `stall()` makes the open connections go silent, both
 * ways and without a close, as a dropped NAT or load-balancer entry does (new ones still work).
 */
export async function startRelay(target: URL) {
  const open = new Set<Socket>();
  const upstreams = new Set<Socket>();
  const stalled = new WeakSet<Socket>();
  let refusing = false;
  let accepted = 0;
  const server = createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    accepted++;
    open.add(client);
    upstreams.add(upstream);
    const drop = (): void => {
      if (stalled.has(client)) return; // a stalled path tells neither end (close() ends it)
      open.delete(client);
      upstreams.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (!stalled.has(client)) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled.has(client)) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    /** Connections relayed so far. */
    accepted: () => accepted,
    cut: () => {
      for (const socket of open) socket.resetAndDestroy();
    },
    refuse: () => {
      refusing = true;
      for (const socket of open) socket.resetAndDestroy();
    },
    accept: () => {
      refusing = false;
    },
    stall: () => {
      for (const socket of open) if (!socket.destroyed) stalled.add(socket);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of [...open, ...upstreams]) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
export type Relay = Awaited<ReturnType<typeof startRelay>>;

/** The control plane's kubeconfig, loaded into `kc` with its server replaced by the relay. */
export function throughRelay(
  kubeconfig: string,
  relay: Relay,
  kc: KubeConfig = new KubeConfig(),
): KubeConfig {
  kc.loadFromFile(kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig without a cluster');
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server: relay.url } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext(),
  });
  return kc;
}
