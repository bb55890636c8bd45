import type {
  InitializeRequest,
  JSONRPCMessage,
  Server,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import type { Request as HttpRequest, Response as HttpResponse } from 'express';
import type { Logger } from '../log.js';
import { Field } from '../log.js';
import { RpcCode } from './respond.js';
import type { OpenFailure, SealedHandshake, SessionSeal } from './seal.js';
import type { HttpSession, HttpSessions } from './sessions.js';

/** One 2025-era session this replica serves: its transport, its server, and the Node face of both. */
export interface LiveSession {
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  /** Serves one request of the session (its body already parsed by the JSON body parser). */
  serve: (req: HttpRequest, res: HttpResponse) => Promise<void>;
  /** With OAuth: whose session this is; requests with another subject's token never reach it. */
  principal: string | undefined;
}

/** A request for a session that cannot be served: the HTTP status and JSON-RPC error to answer. */
export interface SessionRefusal {
  refused: string;
  status: number;
  code: number;
}

export function notFound(
  id: string,
  why = 'closed, idle too long, or opened before a restart',
): SessionRefusal {
  return {
    refused: `Session not found: ${id} (${why}); start a new session with initialize`,
    status: 404,
    code: RpcCode.sessionNotFound,
  };
}

/** Why a session id this replica has never seen was not served. */
export type RestoreFailure = OpenFailure | 'protocol_version' | 'terminated' | 'other_principal';
export const RESTORE_FAILURES: readonly RestoreFailure[] = [
  'malformed',
  'auth_failed',
  'protocol_version',
  'terminated',
  'other_principal',
];

export interface RestoreMetrics {
  restored(): void;
  failed(reason: RestoreFailure): void;
}

export interface RestorerOptions {
  seal: SessionSeal;
  sessions: HttpSessions;
  /** Makes room for one more session, or says why there is none (what a new session's initialize gets). */
  admit(): string | undefined;
  /** Creates, registers and connects a session's transport and server under `id`. */
  start(id: string, principal: string | undefined): Promise<{ entry: LiveSession; session: HttpSession }>;
  metrics?: RestoreMetrics;
  log: Logger;
}

export interface Restorer {
  /** The sealed id for a new session, or undefined when the handshake is too large to carry. */
  sealedId(params: InitializeRequest['params'], principal: string | undefined): string | undefined;
  /**
   * Serves `id` here if it opens and was sealed for `principal` (the requester's, with OAuth):
   * the session is rebuilt from the handshake sealed in it.
   */
  restore(
    id: string,
    clientProtocolVersion: string | undefined,
    principal: string | undefined,
  ): Promise<LiveSession | SessionRefusal>;
  /** `id` was ended with DELETE: this replica will not restore it again. */
  terminated(id: string): void;
}

/** Longer ids are not issued: proxies and load balancers limit header lines (nginx: 8 KiB). */
export const MAX_SEALED_ID_CHARS = 4096;
/** How many DELETEd ids a replica remembers (a few MB at most). */
const TERMINATED_MEMORY = 10_000;
const REPLAY_ID = 'multi-mcp-restore';
const REPLAY_URL = 'http://multi-mcp.invalid/mcp';
const REPLAY_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

/**
 * Sessions any replica can serve. A new session's id is its client's `initialize` sealed with
 * the shared key; a replica that gets an id it has never seen opens it and rebuilds the session
 * through the SDK's own front door: the transport is created with that id and fed the sealed
 * `initialize` and `notifications/initialized` (their answers discarded), so the `Server`
 * negotiates exactly as it did for the client, then the real request is served.
 */
export function createRestorer(options: RestorerOptions): Restorer {
  const { seal, sessions, metrics, log } = options;
  const pending = new Map<string, Promise<LiveSession | SessionRefusal>>();
  const ended = new Set<string>();
  let warnedTooLarge = false;

  const sealedId = (
    params: InitializeRequest['params'],
    principal: string | undefined,
  ): string | undefined => {
    const { name, version, title } = params.clientInfo;
    const handshake: SealedHandshake = {
      protocolVersion: params.protocolVersion,
      capabilities: params.capabilities,
      clientInfo: { name, version, ...(title !== undefined && { title }) },
      ...(principal !== undefined && { principal }),
    };
    const id = seal.seal(handshake);
    if (id.length <= MAX_SEALED_ID_CHARS) return id;
    if (!warnedTooLarge) {
      warnedTooLarge = true;
      log.warn('client capabilities too large to seal; its sessions stay on the replica that opened them', {
        client: name,
        chars: id.length,
      });
    }
    return undefined;
  };

  const fail = (reason: RestoreFailure, refusal: SessionRefusal): SessionRefusal => {
    metrics?.failed(reason);
    log.debug('session id not restored', { reason });
    return refusal;
  };

  const rebuild = async (
    id: string,
    clientVersion: string | undefined,
    principal: string | undefined,
  ): Promise<LiveSession | SessionRefusal> => {
    if (ended.has(id)) return fail('terminated', notFound(id, 'terminated by the client'));
    const opened = seal.open(id);
    if (!opened.ok) return fail(opened.reason, notFound(id, "not issued with this replica's session key"));
    // Checked before anything is built: an id presented with another subject's token opens nothing.
    if (opened.handshake.principal !== principal) return fail('other_principal', notFound(id));
    // A restored session is a session like any other: it counts against the cap and is swept.
    const refusal = options.admit();
    if (refusal) return { refused: refusal, status: 503, code: RpcCode.refused };
    const { entry } = await options.start(id, opened.handshake.principal);
    try {
      await replay(entry.transport, id, opened.handshake);
      const negotiated = entry.server.getNegotiatedProtocolVersion();
      if (clientVersion !== undefined && negotiated !== clientVersion) {
        await sessions.close(id, 'restore refused');
        return fail(
          'protocol_version',
          notFound(
            id,
            `this replica negotiates ${negotiated ?? 'nothing'} for it, the client speaks ${clientVersion}`,
          ),
        );
      }
    } catch (error) {
      await sessions.close(id, 'restore failed');
      throw error;
    }
    metrics?.restored();
    log.info('session restored from its sealed id', {
      [Field.session]: id,
      client: `${opened.handshake.clientInfo.name}@${opened.handshake.clientInfo.version}`,
    });
    return entry;
  };

  return {
    sealedId,
    restore(id, clientVersion, principal) {
      // Concurrent first requests (a POST and the GET stream) must share one rebuilt session;
      // the principal is checked again on the shared result by the caller.
      const inFlight = pending.get(id);
      if (inFlight) return inFlight;
      const restoring = rebuild(id, clientVersion, principal).finally(() => pending.delete(id));
      pending.set(id, restoring);
      return restoring;
    },
    terminated(id) {
      ended.add(id);
      if (ended.size > TERMINATED_MEMORY) ended.delete(ended.values().next().value as string);
    },
  };
}

/** Feeds the sealed handshake to a fresh transport; the answers go nowhere. */
async function replay(
  transport: WebStandardStreamableHTTPServerTransport,
  id: string,
  handshake: SealedHandshake,
): Promise<void> {
  const post = async (message: JSONRPCMessage, headers: Record<string, string>): Promise<string> => {
    const response = await transport.handleRequest(
      new Request(REPLAY_URL, { method: 'POST', headers: { ...REPLAY_HEADERS, ...headers } }),
      { parsedBody: message },
    );
    // Reading to the end waits for the answer (an SSE stream that closes once it is sent).
    const text = await response.text();
    if (!response.ok)
      throw new Error(
        `replaying ${'method' in message ? message.method : 'message'} failed: ${response.status} ${text}`,
      );
    return text;
  };
  const initialize: JSONRPCMessage = {
    jsonrpc: '2.0',
    id: REPLAY_ID,
    method: 'initialize',
    params: handshake,
  };
  const answer = await post(initialize, {});
  if (!answeredWithResult(answer)) throw new Error(`replayed initialize was refused: ${truncate(answer)}`);
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id });
}

/** Whether the SSE body carries a successful answer to the replayed initialize. */
function answeredWithResult(sse: string): boolean {
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data:')) continue;
    try {
      const message = JSON.parse(line.slice(5)) as { id?: unknown; result?: unknown };
      if (message.id === REPLAY_ID) return message.result !== undefined;
    } catch {
      return false;
    }
  }
  return false;
}

function truncate(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
