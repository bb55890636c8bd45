import type { BackendSpec, VirtualServerSpec } from '@multi-mcp/proxy/contract';
import type { Logger } from '@multi-mcp/proxy';
import type { AdminClient, BackendReport } from './admin.js';
import { AdminError } from './admin.js';
import type { Replica } from './discovery.js';

/** The operator's complete set of backends, the same for every replica. */
export interface DesiredSet {
  revision: string;
  backends: Record<string, BackendSpec>;
  /** Backend name → hash of its definition, to tell which definition a replica has. */
  hashes: Record<string, string>;
  /** The operator's virtual servers (McpVirtualServer), pushed with the backends and in the same revision. */
  virtualServers?: Record<string, VirtualServerSpec>;
  virtualHashes?: Record<string, string>;
}

/** What the operator knows about one replica. */
export interface ReplicaState {
  replica: Replica;
  /** The last set this replica accepted. */
  applied?: {
    revision: string;
    hashes: Record<string, string>;
    virtualHashes?: Record<string, string>;
    at: number;
  };
  /** Why the last push or read failed (cleared by the next success). */
  error?: string;
  /** The replica's own account of its backends (GET /mcp_servers), with the time it was asked. */
  report?: { at: number; backends: Map<string, BackendReport> };
}

interface Tracked extends ReplicaState {
  /** A resync asked for the whole set again, whatever revision the replica has. */
  resync?: boolean;
  pushing?: Promise<void>;
  listing?: { started: number; done: Promise<void> };
}

/**
 * The proxy replicas and the operator's owner-scoped sync to each: every replica gets the whole set
 * (`PUT /mcp_servers`) whenever its applied revision differs from the desired one. Pushes to one
 * replica never overlap; while one is in flight newer sets are coalesced into a single next push.
 */
export class Fleet {
  private readonly tracked = new Map<string, Tracked>();
  private latest: DesiredSet | undefined;

  constructor(
    private readonly client: AdminClient,
    private readonly owner: string,
    private readonly log: Logger,
  ) {}

  /** Replaces the replica list (ready endpoints); a new replica starts with nothing applied. */
  setReplicas(replicas: readonly Replica[]): boolean {
    const next = new Map(replicas.map((r) => [r.url, r]));
    let changed = false;
    for (const url of [...this.tracked.keys()]) {
      if (!next.has(url)) {
        this.tracked.delete(url);
        changed = true;
      }
    }
    for (const [url, replica] of next) {
      const existing = this.tracked.get(url);
      if (existing) {
        if (existing.replica.id !== replica.id) changed = true;
        existing.replica = replica;
      } else {
        this.tracked.set(url, { replica });
        changed = true;
      }
    }
    return changed;
  }

  states(): ReplicaState[] {
    return [...this.tracked.values()].sort((a, b) => (a.replica.id < b.replica.id ? -1 : 1));
  }

  /**
   * Resync: the next converge pushes the whole set to every replica, even one that has the desired
   * revision (it heals a replica changed behind the operator's back). What each replica accepted
   * stays known meanwhile: a status computed during the resync must not say "not applied" (Synced
   * 0/n, Ready=False, a Warning Event) about replicas that serve everything. Only a resync push that
   * fails forgets it.
   */
  requestResync(): void {
    for (const t of this.tracked.values()) t.resync = true;
  }

  /** Pushes `desired` to every replica that does not have it; resolves when each push ended. */
  async converge(desired: DesiredSet): Promise<void> {
    this.latest = desired;
    await Promise.all([...this.tracked.values()].map((t) => this.convergeOne(t)));
  }

  private async convergeOne(t: Tracked): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (t.pushing) {
        await t.pushing;
        continue;
      }
      const target = this.latest;
      if (!target || (t.applied?.revision === target.revision && !t.resync)) return;
      if (!this.tracked.has(t.replica.url)) return;
      t.pushing = this.push(t, target).finally(() => delete t.pushing);
      await t.pushing;
      if (t.error !== undefined) return; // a failing replica is retried by the next reconcile or resync
    }
  }

  private async push(t: Tracked, set: DesiredSet): Promise<void> {
    // Taken now: a resync asked for while this push is in flight gets its own push.
    const resync = t.resync === true;
    delete t.resync;
    try {
      const result = await this.client.sync(t.replica.url, {
        owner: this.owner,
        revision: set.revision,
        mcpServers: set.backends,
      });
      // After the backends, so the names a view selects exist when it arrives.
      if (set.virtualServers) await this.pushVirtualServers(t, set, set.virtualServers);
      t.applied = {
        revision: set.revision,
        hashes: set.hashes,
        ...(set.virtualHashes && { virtualHashes: set.virtualHashes }),
        at: Date.now(),
      };
      delete t.error;
      const changed = result.created.length + result.updated.length + result.removed.length;
      if (changed > 0)
        this.log.info('replica synced', {
          replica: t.replica.id,
          revision: set.revision,
          created: result.created.length,
          updated: result.updated.length,
          removed: result.removed.length,
        });
    } catch (error) {
      t.error = error instanceof Error ? error.message : String(error);
      // A replica that cannot take the whole set is no longer known to hold it.
      if (resync) delete t.applied;
      this.log.warn('replica sync failed', { replica: t.replica.id, error: t.error });
    }
  }

  private async pushVirtualServers(
    t: Tracked,
    set: DesiredSet,
    virtualServers: Record<string, VirtualServerSpec>,
  ): Promise<void> {
    try {
      await this.client.syncVirtualServers(t.replica.url, {
        owner: this.owner,
        revision: set.revision,
        virtualServers,
      });
    } catch (error) {
      // A proxy from before virtual servers has no such route: with none to push, nothing is lost.
      if (Object.keys(virtualServers).length === 0 && error instanceof AdminError && error.status === 404)
        return;
      throw error;
    }
  }

  /**
   * Reads every replica's backends (GET /mcp_servers), reusing a read that started within `maxAgeMs`
   * and after the replica's last push, so many status reconciles share one read instead of keeping a
   * busy proxy answering. A replica that lost the operator's backends (it restarted) is marked as
   * having nothing applied; returns true when that happened, so the caller converges again.
   */
  async observe(maxAgeMs = 0): Promise<boolean> {
    const now = Date.now();
    const results = await Promise.all(
      [...this.tracked.values()].map((t) => this.observeOne(t, Math.max(now - maxAgeMs, t.applied?.at ?? 0))),
    );
    return results.some(Boolean);
  }

  private async observeOne(t: Tracked, notBefore: number): Promise<boolean> {
    while (t.listing && t.listing.started < notBefore) await t.listing.done;
    if (!t.listing && (t.report?.at ?? -Infinity) < notBefore) {
      const started = Date.now();
      const done = this.list(t, started).finally(() => {
        if (t.listing?.done === done) delete t.listing;
      });
      t.listing = { started, done };
    }
    if (t.listing) await t.listing.done;
    return t.applied !== undefined && this.drifted(t);
  }

  private async list(t: Tracked, started: number): Promise<void> {
    try {
      const backends = await this.client.list(t.replica.url);
      t.report = { at: started, backends: new Map(backends.map((b) => [b.name, b])) };
      if (t.error?.startsWith('read: ')) delete t.error;
    } catch (error) {
      delete t.report;
      t.error = `read: ${error instanceof Error ? error.message : String(error)}`;
      delete t.applied;
    }
  }

  /** The replica's operator-owned backends differ from what it accepted: it restarted or was edited. */
  private drifted(t: Tracked): boolean {
    // A read that started before the push ended may not show it yet.
    if (!t.report || !t.applied || t.report.at < t.applied.at) return false;
    const applied = Object.keys(t.applied.hashes);
    const owned = [...t.report.backends.values()].filter((b) => b.owner === this.owner).map((b) => b.name);
    const same = applied.length === owned.length && owned.every((name) => name in (t.applied?.hashes ?? {}));
    if (!same) {
      this.log.info('replica drifted from the applied set; pushing it again', {
        replica: t.replica.id,
        applied: applied.length,
        found: owned.length,
      });
      delete t.applied;
    }
    return !same;
  }
}
