import type { Implementation } from '@modelcontextprotocol/client';
import type { BackendSpec } from '../config/contract.js';
import { specsEqual } from '../config/contract.js';
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
}

/**
 * The set of backends, keyed by name, in registration order (which decides who keeps a
 * name on collision). Definitions arrive as whole snapshots per owner; an unchanged spec
 * keeps its live connection. Listeners hear about every change, coalesced per event-loop turn.
 */
export class Registry {
  private readonly entries = new Map<string, Backend>();
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
    // Replacing in place keeps the name's registration order, and with it collision priority.
    if (existing) await existing.stop();
    this.add(owner, name, spec);
    this.options.log.info(existing ? 'backend updated' : 'backend added', { [Field.backend]: name, owner });
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
    await Promise.all(
      stale.map(async (b) => {
        await this.stopAndDelete(b);
        result.removed.push(b.name);
      }),
    );
    for (const [name, spec] of Object.entries(specs)) {
      result[await this.upsert(owner, name, spec)].push(name);
    }
    return result;
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

  async close(): Promise<void> {
    const all = this.backends();
    this.entries.clear();
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
    });
    this.entries.set(name, backend);
    backend.start();
    this.queueNotify();
  }

  private async stopAndDelete(backend: Backend): Promise<void> {
    this.entries.delete(backend.name);
    this.queueNotify();
    await backend.stop();
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
