import type { VirtualServerSpec } from '../config/virtual.js';
import { virtualSpecsEqual } from '../config/virtual.js';

/** Who defined a virtual server: the config file, the admin API, the operator (as for backends). */
export type Owner = string;

export interface VirtualServerEntry {
  name: string;
  owner: Owner;
  spec: VirtualServerSpec;
}

export interface VirtualServerSyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
}

export class VirtualServerOwnershipError extends Error {
  override readonly name = 'VirtualServerOwnershipError';
  constructor(
    readonly virtualServer: string,
    readonly owner: Owner,
    readonly requestedBy: Owner,
  ) {
    super(`virtual server "${virtualServer}" is owned by "${owner}"; "${requestedBy}" cannot change it`);
  }
}

/**
 * The named selections of the catalog, each with its owner. Like the registry, definitions arrive
 * as whole snapshots per owner (`sync`) or one at a time (`upsert`); an unchanged definition is
 * not a change, so sessions hear nothing. Listeners run synchronously after every change.
 */
export class VirtualServers {
  private readonly entries = new Map<string, VirtualServerEntry>();
  private readonly listeners = new Set<() => void>();

  get(name: string): VirtualServerEntry | undefined {
    return this.entries.get(name);
  }

  list(): VirtualServerEntry[] {
    return [...this.entries.values()];
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  upsert(owner: Owner, name: string, spec: VirtualServerSpec): 'created' | 'updated' | 'unchanged' {
    const outcome = this.put(owner, name, spec);
    if (outcome !== 'unchanged') this.notify();
    return outcome;
  }

  /** Removes `name`; with `owner`, only if that owner holds it (else VirtualServerOwnershipError). */
  remove(name: string, owner?: Owner): boolean {
    const existing = this.entries.get(name);
    if (!existing) return false;
    if (owner !== undefined && existing.owner !== owner)
      throw new VirtualServerOwnershipError(name, existing.owner, owner);
    this.entries.delete(name);
    this.notify();
    return true;
  }

  /** Makes `owner`'s virtual servers exactly `specs`; names held by another owner fail the whole sync. */
  sync(owner: Owner, specs: Readonly<Record<string, VirtualServerSpec>>): VirtualServerSyncResult {
    for (const name of Object.keys(specs)) {
      const existing = this.entries.get(name);
      if (existing && existing.owner !== owner)
        throw new VirtualServerOwnershipError(name, existing.owner, owner);
    }
    const result: VirtualServerSyncResult = { created: [], updated: [], unchanged: [], removed: [] };
    for (const entry of this.list()) {
      if (entry.owner === owner && !Object.hasOwn(specs, entry.name)) {
        this.entries.delete(entry.name);
        result.removed.push(entry.name);
      }
    }
    for (const [name, spec] of Object.entries(specs)) result[this.put(owner, name, spec)].push(name);
    if (result.created.length + result.updated.length + result.removed.length > 0) this.notify();
    return result;
  }

  private put(owner: Owner, name: string, spec: VirtualServerSpec): 'created' | 'updated' | 'unchanged' {
    const existing = this.entries.get(name);
    if (existing && existing.owner !== owner)
      throw new VirtualServerOwnershipError(name, existing.owner, owner);
    if (existing && virtualSpecsEqual(existing.spec, spec)) return 'unchanged';
    this.entries.set(name, { name, owner, spec });
    return existing ? 'updated' : 'created';
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
