import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';

/** The sessionful front doors; stateless 2026-era exchanges hold nothing and are not counted. */
export type HttpSessionKind = 'streamable-http' | 'sse';

export const HTTP_SESSION_KINDS: readonly HttpSessionKind[] = ['streamable-http', 'sse'];

export interface HttpSession {
  readonly id: string;
  readonly kind: HttpSessionKind;
  /** When the last request for this session started or ended (ms since epoch). */
  lastActivity: number;
  /** Requests and streams of this session still open. */
  open: number;
  /** Order of last use among all sessions (a counter: clock ticks can tie), for eviction. */
  lastUse: number;
}

export interface SessionLimits {
  maxSessions: number;
  sessionIdleMs: number;
}

const CLOSE_WAIT_MS = 2_000;

/**
 * Every HTTP session of one front door, whatever its transport, under one cap and one idle
 * sweep: a flood of clients that initialize and vanish cannot exhaust memory. A session is
 * idle when it has no request or stream open and none started or ended for `sessionIdleMs`;
 * an open stream keeps it alive, since the transports' keep-alive writes end streams whose
 * peer is gone.
 */
export class HttpSessions {
  private readonly sessions = new Map<string, { session: HttpSession; close: () => Promise<void> }>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private draining = false;
  private evictedCount = 0;
  private uses = 0;

  constructor(
    private readonly limits: SessionLimits,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    const every = Math.min(Math.max(Math.floor(limits.sessionIdleMs / 2), 50), 60_000);
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Makes room for one new session, or says why there is none. A full table closes its least recently
   * used idle session (no request or stream open) to admit the newcomer, so clients that initialize and
   * vanish cannot lock out new ones until the idle sweep; only when every session is busy is the
   * newcomer refused.
   */
  admit(): string | undefined {
    if (this.closed) return 'multi-mcp is shutting down';
    if (this.draining) {
      return 'multi-mcp is shutting down and accepts no new sessions; connect again to reach another replica';
    }
    if (this.sessions.size < this.limits.maxSessions) return undefined;
    const lru = this.leastRecentlyUsedIdle();
    if (lru) {
      this.evictedCount++;
      this.log.info('session table full: evicting the least recently used idle session', {
        [Field.session]: lru.id,
        [Field.transport]: lru.kind,
        idleMs: this.now() - lru.lastActivity,
      });
      // close() frees the slot synchronously; the transport finishes closing in the background.
      void this.close(lru.id, 'evicted');
      return undefined;
    }
    return (
      `session limit reached: all ${this.sessions.size} sessions (maxSessions=${this.limits.maxSessions}) ` +
      'are busy with a request or stream in flight, so none could be evicted. ' +
      'Retry later, close unused sessions, or raise --max-sessions'
    );
  }

  /** Shutdown has begun: sessions already open are served, new ones are refused. */
  stopAdmitting(): void {
    this.draining = true;
  }

  /** Sessions closed so far to make room for new ones. */
  get evicted(): number {
    return this.evictedCount;
  }

  private leastRecentlyUsedIdle(): HttpSession | undefined {
    let oldest: HttpSession | undefined;
    for (const { session } of this.sessions.values()) {
      if (session.open === 0 && (!oldest || session.lastUse < oldest.lastUse)) oldest = session;
    }
    return oldest;
  }

  /** Registers a session; `close` must end its transport and server (it is called at most once). */
  add(id: string, kind: HttpSessionKind, close: () => Promise<void>): HttpSession {
    const session: HttpSession = { id, kind, lastActivity: this.now(), open: 0, lastUse: ++this.uses };
    this.sessions.set(id, { session, close });
    return session;
  }

  get(id: string): HttpSession | undefined {
    return this.sessions.get(id)?.session;
  }

  /** Counts `res` as activity of `session` until the response (or stream) ends. */
  track(session: HttpSession, res: ServerResponse): void {
    session.open++;
    session.lastActivity = this.now();
    session.lastUse = ++this.uses;
    res.once('close', () => {
      session.open--;
      session.lastActivity = this.now();
      session.lastUse = ++this.uses;
    });
  }

  /** Forgets a session that ended on its own (DELETE, client gone); does not close it. */
  forget(id: string): void {
    this.sessions.delete(id);
  }

  /** Closes one session; safe to call for an unknown or already closed id. */
  async close(id: string, why: string): Promise<void> {
    const entry = this.sessions.get(id);
    if (!entry) return;
    this.sessions.delete(id);
    this.log.debug('closing session', {
      [Field.session]: id,
      [Field.transport]: entry.session.kind,
      reason: why,
    });
    await entry
      .close()
      .catch((error: unknown) =>
        this.log.debug('session close failed', { [Field.session]: id, [Field.error]: errorMessage(error) }),
      );
  }

  /** Closes idle sessions; returns how many. */
  async sweep(): Promise<number> {
    const cutoff = this.now() - this.limits.sessionIdleMs;
    const idle = [...this.sessions.values()]
      .map((entry) => entry.session)
      .filter((session) => session.open === 0 && session.lastActivity < cutoff);
    await Promise.all(idle.map((session) => this.close(session.id, 'idle')));
    if (idle.length > 0) this.log.info('closed idle sessions', { count: idle.length });
    return idle.length;
  }

  counts(): Record<HttpSessionKind, number> {
    const counts: Record<HttpSessionKind, number> = { 'streamable-http': 0, sse: 0 };
    for (const { session } of this.sessions.values()) counts[session.kind]++;
    return counts;
  }

  /** Ends every session and the sweeper; waits a bounded time for transports to close. */
  async closeAll(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const all = [...this.sessions.keys()].map((id) => this.close(id, 'front door closing'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
      timer.unref();
    });
    await Promise.race([Promise.all(all), timeout]);
    clearTimeout(timer);
  }
}
