import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { PIN_PATTERN } from '../config/contract.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { ToolDefinition } from './definition.js';
import { definitionHash, definitionOf } from './definition.js';

/**
 * What happens to a tool that has no pin: `off` lists it, `first-seen` records the hash it has
 * the first time it is seen and pins it to that, `strict` holds it back until it is pinned.
 * A pin that exists (spec, first-seen record, approval) is enforced under every policy.
 */
export const PIN_POLICIES = ['off', 'first-seen', 'strict'] as const;
export type PinPolicy = (typeof PIN_POLICIES)[number];

/** Where a tool's pin comes from; a pin in the backend's spec wins over a recorded one. */
export type PinSource = 'spec' | 'first-seen' | 'approved';

export type PinVerdict =
  | { state: 'match'; pin: string; source: PinSource }
  | { state: 'drifted'; pin: string; source: PinSource }
  | { state: 'none' }
  | { state: 'held' };

export const noPins = (): PinVerdict => ({ state: 'none' });

interface PinRecord {
  hash: string;
  source: 'first-seen' | 'approved';
  recordedAt: string;
  /** Kept so a later drift can be logged as a diff. */
  definition?: ToolDefinition | undefined;
}

const PinFileSchema = z.object({
  version: z.literal(1),
  backend: z.string(),
  tools: z.record(
    z.string(),
    z.object({
      hash: z.string().regex(PIN_PATTERN),
      source: z.enum(['first-seen', 'approved']),
      recordedAt: z.string(),
      definition: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

/** Definitions remembered by hash for diffs; bounded so a backend that churns cannot grow it forever. */
const MAX_SEEN = 10_000;

export interface PinBookOptions {
  policy: PinPolicy;
  /** With a directory, records survive restarts: `<stateDir>/pins/<backend>.json`. */
  stateDir?: string | undefined;
  log: Logger;
}

/**
 * The proxy's recorded pins (first-seen hashes and approvals), per backend, and the verdict on
 * each tool the catalog builds. Spec pins are not stored here: they arrive with the spec.
 */
export class PinBook {
  readonly policy: PinPolicy;
  private readonly records = new Map<string, Map<string, PinRecord>>();
  private readonly seen = new Map<string, ToolDefinition>();
  private readonly driftCounts = new Map<string, number>();
  private readonly observed = new WeakSet<readonly Tool[]>();
  /** Bumped whenever a backend's records change: verdicts taken before may differ now. */
  private readonly revisions = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly options: PinBookOptions) {
    this.policy = options.policy;
    this.log = options.log.with({ component: 'pins' });
  }

  /**
   * Called before each catalog build with a ready backend's tools: remembers, and records first
   * sightings. A list already observed is skipped (records are never removed, so observing it
   * again would change nothing): a rebuild after one backend changed looks at that one's tools only.
   */
  observe(backend: string, tools: readonly Tool[]): void {
    if (this.observed.has(tools)) return;
    this.observed.add(tools);
    const book = this.book(backend);
    let changed = false;
    for (const tool of tools) {
      const hash = definitionHash(tool);
      if (!this.seen.has(hash)) this.remember(hash, definitionOf(tool));
      if (this.policy !== 'first-seen' || book.has(tool.name)) continue;
      book.set(tool.name, {
        hash,
        source: 'first-seen',
        recordedAt: new Date().toISOString(),
        definition: definitionOf(tool),
      });
      changed = true;
    }
    if (changed) this.changed(backend);
  }

  /**
   * Changes whenever the backend's records do (a first sighting, an approval): a catalog builder
   * reuses the backend's verdicts while this and the spec's pins stay the same.
   */
  revision(backend: string): number {
    this.book(backend);
    return this.revisions.get(backend) ?? 0;
  }

  /** The verdict function for one backend's tools, given the pins in its spec. */
  verdictFor(
    backend: string,
    specPins: Record<string, string> | undefined,
  ): (original: string, hash: string) => PinVerdict {
    const book = this.book(backend);
    return (original, hash) => {
      const spec = specPins?.[original];
      const recorded = book.get(original);
      const pin = spec ?? recorded?.hash;
      const source: PinSource | undefined = spec !== undefined ? 'spec' : recorded?.source;
      if (pin === undefined || source === undefined)
        return this.policy === 'strict' ? { state: 'held' } : { state: 'none' };
      return { state: pin === hash ? 'match' : 'drifted', pin, source };
    };
  }

  /** Records approvals (tool → hash) for a backend; returns the hashes they replace. */
  approve(backend: string, pins: Record<string, string>): Record<string, string | null> {
    const book = this.book(backend);
    const previous: Record<string, string | null> = {};
    for (const [tool, hash] of Object.entries(pins)) {
      previous[tool] = book.get(tool)?.hash ?? null;
      book.set(tool, {
        hash,
        source: 'approved',
        recordedAt: new Date().toISOString(),
        definition: this.seen.get(hash),
      });
    }
    this.changed(backend);
    return previous;
  }

  /** The definition behind a hash, if this proxy has seen it (now or in a record). */
  definitionFor(backend: string, tool: string, hash: string): ToolDefinition | undefined {
    const recorded = this.book(backend).get(tool);
    return this.seen.get(hash) ?? (recorded?.hash === hash ? recorded.definition : undefined);
  }

  countDrift(backend: string): void {
    this.driftCounts.set(backend, (this.driftCounts.get(backend) ?? 0) + 1);
  }

  /** Drifts detected since start, per backend (a counter for /metrics). */
  drifts(): ReadonlyMap<string, number> {
    return this.driftCounts;
  }

  private changed(backend: string): void {
    this.revisions.set(backend, (this.revisions.get(backend) ?? 0) + 1);
    this.save(backend);
  }

  private remember(hash: string, definition: ToolDefinition): void {
    if (this.seen.has(hash)) return;
    if (this.seen.size >= MAX_SEEN) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(hash, definition);
  }

  private book(backend: string): Map<string, PinRecord> {
    let book = this.records.get(backend);
    if (!book) {
      book = this.load(backend);
      this.records.set(backend, book);
    }
    return book;
  }

  private fileOf(backend: string): string | undefined {
    // Backend names are [A-Za-z0-9_-]: safe as file names as they are.
    return this.options.stateDir === undefined
      ? undefined
      : join(this.options.stateDir, 'pins', `${backend}.json`);
  }

  private load(backend: string): Map<string, PinRecord> {
    const file = this.fileOf(backend);
    const book = new Map<string, PinRecord>();
    if (file === undefined) return book;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.error('cannot read pin records', {
          [Field.backend]: backend,
          file,
          [Field.error]: errorMessage(error),
        });
      }
      return book;
    }
    try {
      const parsed = PinFileSchema.parse(JSON.parse(text));
      for (const [tool, record] of Object.entries(parsed.tools)) book.set(tool, record);
      for (const record of book.values())
        if (record.definition) this.remember(record.hash, record.definition);
    } catch (error) {
      // Kept aside rather than overwritten, so a person can see what was there.
      const aside = `${file}.unreadable-${Date.now()}`;
      this.log.error('pin records are not valid; moved aside, starting without them', {
        [Field.backend]: backend,
        file,
        movedTo: aside,
        [Field.error]: errorMessage(error),
      });
      try {
        renameSync(file, aside);
      } catch {
        // Left in place; the next save replaces it.
      }
    }
    return book;
  }

  /** Atomic: a crash mid-write leaves the previous file, never half of one. */
  private save(backend: string): void {
    const file = this.fileOf(backend);
    if (file === undefined) return;
    const tools = Object.fromEntries(this.book(backend));
    const body = `${JSON.stringify({ version: 1, backend, tools }, null, 2)}\n`;
    const temp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(join(this.options.stateDir ?? '.', 'pins'), { recursive: true, mode: 0o700 });
      writeFileSync(temp, body, { mode: 0o600 });
      renameSync(temp, file);
    } catch (error) {
      this.log.error('cannot write pin records (kept in memory only)', {
        [Field.backend]: backend,
        file,
        [Field.error]: errorMessage(error),
      });
    }
  }
}
