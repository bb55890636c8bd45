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
  /** Backends this session has requests in flight with, and how many. */
  inFlight: Map<string, number>;
}

/**
 * Who a backend's request (sampling, elicitation, roots) goes to when it is no session: a
 * 2026-07-28 call, whose client is asked through an `input_required` result (bridge.ts).
 */
export interface Caller {
  id: string;
  inFlight: Map<string, number>;
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
   * Who answers a request `backend` sent to "the client" (sampling, elicitation, roots). One
   * that came with a relayed call (`origin`: Streamable HTTP links it, see registry/links.ts)
   * goes to that call's session or caller and no one else, or nowhere once it is gone. Without
   * a link (stdio, legacy SSE, the backend's standalone stream) only a sole caller is certain:
   * with several sessions calling the backend, guessing could show one client another's
   * question, so nobody is chosen.
   */
  answererFor(backend: string, origin: object | undefined): Answerer {
    if (origin !== undefined) {
      const live = this.live(origin);
      return live ? { to: live } : { gone: true };
    }
    const busy = [...this.sessions.values(), ...this.callers].filter((s) => s.inFlight.has(backend));
    if (busy.length === 1) return { to: busy[0]! };
    return busy.length === 0 ? { none: true } : { ambiguous: busy.length };
  }

  /** `origin` if it is a session still open or a caller still waiting on its call. */
  private live(origin: object): Session | Caller | undefined {
    const id = 'id' in origin && typeof origin.id === 'string' ? origin.id : undefined;
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (session === origin) return session;
    return this.callers.has(origin as Caller) ? (origin as Caller) : undefined;
  }
}

/** Who a backend's request goes to (`SessionTable.answererFor`). */
export type Answerer =
  | { to: Session | Caller }
  /** It came with a call whose session or caller has gone since. */
  | { gone: true }
  /** No session has a call in flight to the backend. */
  | { none: true }
  /** Nothing links it to a call, and this many sessions have calls in flight to the backend. */
  | { ambiguous: number };

/** Runs `work` while marking `backend` busy for `session`. */
export async function tracked<T>(
  session: Session | Caller | undefined,
  backend: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!session) return work();
  session.inFlight.set(backend, (session.inFlight.get(backend) ?? 0) + 1);
  try {
    return await work();
  } finally {
    const left = (session.inFlight.get(backend) ?? 1) - 1;
    if (left > 0) session.inFlight.set(backend, left);
    else session.inFlight.delete(backend);
  }
}
