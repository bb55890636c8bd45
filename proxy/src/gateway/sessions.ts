import type { LoggingLevel, Result, Server } from '@modelcontextprotocol/server';

/** The front door a session came through, for status and metrics. */
export type SessionKind = 'stdio' | 'streamable-http' | 'sse' | 'stateless';

/** Per-client state the proxy keeps, since all sessions share one connection per backend. */
export interface Session {
  id: string;
  kind: SessionKind;
  server: Server;
  /** The virtual server this session came through (/mcp/<name>, /sse/<name>, --virtual); none = the whole catalog. */
  view?: string;
  logLevel: LoggingLevel | undefined;
  subscriptions: Set<string>;
  /** Backends this session has requests in flight with: how many, and when the latest started. */
  inFlight: Map<string, { count: number; latest: number }>;
}

/**
 * Who a backend's request (sampling, elicitation, roots) goes to when it is no session: a
 * 2026-07-28 call, whose client is asked through an `input_required` result (bridge.ts).
 */
export interface Caller {
  id: string;
  inFlight: Map<string, { count: number; latest: number }>;
  ask(method: string, params: Record<string, unknown>): Promise<Result>;
}

const levels: LoggingLevel[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
];

export function levelAllows(threshold: LoggingLevel | undefined, level: LoggingLevel): boolean {
  return threshold === undefined || levels.indexOf(level) >= levels.indexOf(threshold);
}

/** Sessions that can receive pushes; stateless 2026-era requests never appear here. */
export class SessionTable {
  private readonly sessions = new Map<string, Session>();
  /** 2026-07-28 calls with a backend request in flight: they answer like sessions, get no pushes. */
  private readonly callers = new Set<Caller>();
  /** URIs open 2026-07-28 listen streams watch, counted: they hold backend subscriptions as sessions do. */
  private readonly watched = new Map<string, number>();
  private nextId = 1;

  /** Lists `caller` while `work` runs, so backend requests during it can find it. */
  async withCaller<T>(caller: Caller, work: () => Promise<T>): Promise<T> {
    this.callers.add(caller);
    try {
      return await work();
    } finally {
      this.callers.delete(caller);
    }
  }

  watch(uri: string): void {
    this.watched.set(uri, (this.watched.get(uri) ?? 0) + 1);
  }

  unwatch(uri: string): void {
    const left = (this.watched.get(uri) ?? 0) - 1;
    if (left > 0) this.watched.set(uri, left);
    else this.watched.delete(uri);
  }

  /** Sessions and listen streams that want updates for `uri`. */
  subscriberCount(uri: string): number {
    let count = this.watched.get(uri) ?? 0;
    for (const session of this.sessions.values()) if (session.subscriptions.has(uri)) count++;
    return count;
  }

  /** Every URI someone wants updates for: what a reconnected backend is subscribed to again. */
  subscribedUris(): Set<string> {
    const uris = new Set(this.watched.keys());
    for (const session of this.sessions.values()) for (const uri of session.subscriptions) uris.add(uri);
    return uris;
  }

  add(kind: SessionKind, server: Server): Session {
    const session: Session = {
      id: `${kind}-${this.nextId++}`,
      kind,
      server,
      logLevel: undefined,
      subscriptions: new Set(),
      inFlight: new Map(),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  delete(session: Session): void {
    this.sessions.delete(session.id);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The one connected session, if there is exactly one (a desktop client over stdio). */
  sole(): Session | undefined {
    if (this.sessions.size !== 1) return undefined;
    return this.sessions.values().next().value;
  }

  /**
   * The session whose call is most likely waiting on `backend`: backend-initiated requests
   * (sampling, elicitation, roots) carry no link to the call that caused them, so the most
   * recent session with a call in flight to that backend answers.
   */
  waitingOn(backend: string): Session | Caller | undefined {
    let found: Session | Caller | undefined;
    let latest = -1;
    for (const session of [...this.sessions.values(), ...this.callers]) {
      const busy = session.inFlight.get(backend);
      if (busy && busy.latest > latest) {
        found = session;
        latest = busy.latest;
      }
    }
    return found;
  }
}

let callSequence = 0;

/** Runs `work` while marking `backend` busy for `session`. */
export async function tracked<T>(
  session: Session | Caller | undefined,
  backend: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!session) return work();
  const busy = session.inFlight.get(backend) ?? { count: 0, latest: 0 };
  session.inFlight.set(backend, { count: busy.count + 1, latest: ++callSequence });
  try {
    return await work();
  } finally {
    const now = session.inFlight.get(backend);
    if (now && now.count > 1) now.count--;
    else session.inFlight.delete(backend);
  }
}
