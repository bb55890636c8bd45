import type { Implementation } from '@modelcontextprotocol/client';
import type { BackendSpec } from '../config/contract.js';
import { sameConnection, specsEqual } from '../config/contract.js';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import type { BackendHooks } from './backend.js';
import { Backend } from './backend.js';
import type { BackoffPolicy } from './backoff.js';
import { defaultBackoff } from './backoff.js';

/** Who defined a backend: the config file, the admin API, the operator. Each replaces only its own. */
export type Owner = string;

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

export interface SyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
}

export class OwnershipError extends Error {
  override readonly name = 'OwnershipError';
  constructor(
    readonly backend: string,
    readonly owner: Owner,
    readonly requestedBy: Owner,
  ) {
    super(`backend "${backend}" is owned by "${owner}"; "${requestedBy}" cannot change it`);
  }
}

export interface RegistryOptions {
  log: Logger;
  clientInfo: Implementation;
  hooks: Omit<BackendHooks, 'changed'>;
  backoff?: BackoffPolicy;
  /** How long a removed or replaced backend may finish calls in flight before it is stopped (default 10 s). */
  drainMs?: number;
  /** How often a connected backend is asked whether it still answers (0 = never; default 10 s). */
  livenessIntervalMs?: number;
}

export const DEFAULT_DRAIN_MS = 10_000;

/**
 * The set of backends, keyed by name, in registration order (which decides who keeps a
 * name on collision). Definitions arrive as whole snapshots per owner; an unchanged spec
 * keeps its live connection. Listeners hear about every change, coalesced per event-loop turn.
 */
export class Registry {
  private readonly entries = new Map<string, Backend>();
  /** Removed or replaced backends still finishing their calls in flight; close() ends them too. */
  private readonly retiring = new Set<Backend>();
  private readonly listeners = new Set<() => void>();
  private notifyQueued = false;
  private readonly hooks: BackendHooks;

  constructor(private readonly options: RegistryOptions) {
    this.hooks = { ...options.hooks, changed: () => this.queueNotify() };
  }

  backends(): Backend[] {
    return [...this.entries.values()];
  }

  get(name: string): Backend | undefined {
    return this.entries.get(name);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Idempotent: the same spec again keeps the running connection. */
  async upsert(owner: Owner, name: string, spec: BackendSpec): Promise<UpsertOutcome> {
    const existing = this.entries.get(name);
    if (existing && existing.owner !== owner) throw new OwnershipError(name, existing.owner, owner);
    if (existing && specsEqual(existing.spec, spec)) return 'unchanged';
    if (existing && sameConnection(existing.spec, spec)) {
      existing.retune(spec);
      this.options.log.info('backend retuned (connection kept)', { [Field.backend]: name, owner });
      return 'updated';
    }
    // Replacing in place keeps the name's registration order, and with it collision priority. The new
    // connection starts at once; the old one finishes its calls in flight beside it, then stops.
    this.add(owner, name, spec);
    this.options.log.info(existing ? 'backend updated' : 'backend added', { [Field.backend]: name, owner });
    if (existing) await this.retire(existing);
    return existing ? 'updated' : 'created';
  }

  async remove(name: string, owner?: Owner): Promise<boolean> {
    const existing = this.entries.get(name);
    if (!existing) return false;
    if (owner !== undefined && existing.owner !== owner)
      throw new OwnershipError(name, existing.owner, owner);
    await this.stopAndDelete(existing);
    this.options.log.info('backend removed', { [Field.backend]: name, owner: existing.owner });
    return true;
  }

  /** Makes `owner`'s backends exactly `specs`: others' backends are untouched. */
  async sync(owner: Owner, specs: Record<string, BackendSpec>): Promise<SyncResult> {
    for (const name of Object.keys(specs)) {
      const existing = this.entries.get(name);
      if (existing && existing.owner !== owner) throw new OwnershipError(name, existing.owner, owner);
    }
    const result: SyncResult = { created: [], updated: [], unchanged: [], removed: [] };
    const stale = this.backends().filter((b) => b.owner === owner && !(b.name in specs));
    // All at once: a backend slow to drain or to exit holds up no other. New names are added in
    // the snapshot's order, synchronously, so registration order (collision priority) is kept.
    const removals = stale.map(async (b) => {
      await this.stopAndDelete(b);
      this.options.log.info('backend removed', { [Field.backend]: b.name, owner });
    });
    const upserts = Object.entries(specs).map(async ([name, spec]) => {
      return [name, await this.upsert(owner, name, spec)] as const;
    });
    await Promise.all(removals);
    result.removed.push(...stale.map((b) => b.name));
    for (const [name, outcome] of await Promise.all(upserts)) result[outcome].push(name);
    return result;
  }

  /** Relayed calls in flight over every backend, retiring ones included. */
  inFlight(): number {
    let count = 0;
    for (const backend of this.entries.values()) count += backend.inFlight;
    for (const backend of this.retiring) count += backend.inFlight;
    return count;
  }

  /** Resolves when every current backend has finished its first connection attempt, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.all(this.backends().map((b) => b.settled)), timeout]);
    clearTimeout(timer);
  }

  /** Stops every backend at once, retiring ones too (their drain is cut short). */
  async close(): Promise<void> {
    const all = [...this.backends(), ...this.retiring];
    this.entries.clear();
    this.retiring.clear();
    await Promise.all(all.map((b) => b.stop()));
  }

  private add(owner: Owner, name: string, spec: BackendSpec): void {
    const backend = new Backend({
      name,
      owner,
      spec,
      log: this.options.log,
      hooks: this.hooks,
      backoff: this.options.backoff ?? defaultBackoff,
      clientInfo: this.options.clientInfo,
      ...(this.options.livenessIntervalMs !== undefined && {
        livenessIntervalMs: this.options.livenessIntervalMs,
      }),
    });
    this.entries.set(name, backend);
    backend.start();
    this.queueNotify();
  }

  private async stopAndDelete(backend: Backend): Promise<void> {
    this.entries.delete(backend.name);
    this.queueNotify();
    await this.retire(backend);
  }

  private async retire(backend: Backend): Promise<void> {
    this.retiring.add(backend);
    try {
      await backend.stop(this.options.drainMs ?? DEFAULT_DRAIN_MS);
    } finally {
      this.retiring.delete(backend);
    }
  }

  private queueNotify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    // One rebuild per turn of the event loop, however many backends changed in it.
    setImmediate(() => {
      this.notifyQueued = false;
      for (const listener of this.listeners) listener();
    });
  }
}
