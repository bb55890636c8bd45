import type { RequestHandler } from 'express';
import { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';
import { withFastPath } from '../gateway/fastpath.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import { principalOf } from './oauth.js';
import { requestId, RpcCode, sendError, sendRpcError } from './respond.js';
import type { HttpSessions } from './sessions.js';

export interface SseRouteOptions {
  gateway: Gateway;
  sessions: HttpSessions;
  log: Logger;
  /** Where clients POST their messages; announced in the stream's `endpoint` event. */
  messagesPath: string;
  /** Comment frames on idle streams, so a vanished peer is noticed and its session ends. */
  keepAliveMs?: number;
  /** Serve this virtual server's view (/sse/<name>) instead of the whole catalog. */
  view?: string;
}

export interface SseRoutes {
  /** GET /sse: opens a session and its event stream. */
  stream: RequestHandler;
  /** POST /messages?sessionId=…: one client message into that session. */
  messages: RequestHandler;
}

const DEFAULT_KEEP_ALIVE_MS = 15_000;

/**
 * The deprecated HTTP+SSE transport (protocol 2024-11-05), still what many clients speak:
 * one `gateway.createSession('sse')` per stream, counted and swept with the other sessions.
 */
export function createSseRoutes(options: SseRouteOptions): SseRoutes {
  const { gateway, sessions } = options;
  const log = options.log.with({ [Field.transport]: 'sse' });
  const transports = new Map<string, { transport: SSEServerTransport; principal: string | undefined }>();
  const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const { view } = options;

  const stream: RequestHandler = async (req, res) => {
    const refusal = sessions.admit();
    if (refusal) {
      sendError(res, 503, refusal);
      return;
    }
    try {
      const transport = new SSEServerTransport(options.messagesPath, res);
      const id = transport.sessionId;
      const { server, relayedFor } = gateway.createSession('sse', view);
      const keepAlive = setInterval(() => {
        if (!res.writableEnded && !res.destroyed) res.write(': keep-alive\n\n');
      }, keepAliveMs);
      keepAlive.unref();
      transport.onerror = (error) =>
        log.debug('sse transport error', { [Field.session]: id, [Field.error]: error.message });
      // The legacy transport reports close twice (its own close() and the response's); forget is idempotent.
      transport.onclose = () => {
        clearInterval(keepAlive);
        transports.delete(id);
        sessions.forget(id);
      };
      transports.set(id, { transport, principal: principalOf(res) });
      const session = sessions.add(id, 'sse', () => server.close());
      sessions.track(session, res);
      await server.connect(withFastPath(transport, relayedFor));
      log.debug('session opened', { [Field.session]: id });
    } catch (error) {
      log.warn('sse stream failed', { [Field.error]: errorMessage(error) });
      if (!res.headersSent) sendError(res, 500, `internal error: ${errorMessage(error)}`);
      else res.end();
    }
  };

  const messages: RequestHandler = async (req, res) => {
    const sessionId = req.query['sessionId'];
    if (typeof sessionId !== 'string' || sessionId === '') {
      sendRpcError(
        res,
        400,
        RpcCode.refused,
        'missing sessionId query parameter (use the URL from the endpoint event)',
      );
      return;
    }
    const entry = transports.get(sessionId);
    const session = sessions.get(sessionId);
    // With OAuth, posting into another subject's stream looks like posting into none.
    const owned = entry !== undefined && entry.principal === principalOf(res);
    if (entry && !owned)
      log.warn('session id presented with another subject’s token', { [Field.session]: sessionId });
    if (!entry || !owned || !session) {
      sendRpcError(
        res,
        404,
        RpcCode.sessionNotFound,
        `Session not found: ${sessionId} (its stream closed or it was idle too long); reconnect to /sse`,
        requestId(req.body),
      );
      return;
    }
    try {
      sessions.track(session, res);
      await entry.transport.handlePostMessage(req, res, req.body);
    } catch (error) {
      log.debug('sse message failed', { [Field.session]: sessionId, [Field.error]: errorMessage(error) });
      if (!res.headersSent)
        sendRpcError(res, 500, RpcCode.internalError, `internal error: ${errorMessage(error)}`);
    }
  };

  return { stream, messages };
}
