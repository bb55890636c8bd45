import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';

// The common request body (a sized JSON body, UTF-8, not compressed, within the limit) read and
// parsed in one step, without body-parser's stream plumbing (raw-body, iconv, content-type
// parsing per request): on the MCP hot path that plumbing cost more than the parse. Every other
// body (chunked, compressed, another charset, over the limit) goes to body-parser as before, so
// its answers (413, 415, the dump of an oversize body) are its own. A body that is not valid JSON
// gets body-parser's own error (same type, status and message), mapped by `bodyErrors`.

// eslint-disable-next-line no-control-regex -- JSON whitespace, as body-parser matches it
const FIRST_NON_WHITESPACE = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/;
const JSON_SYNTAX = /#+/g;

interface BodyError extends Error {
  status: number;
  type: string;
}

function bodyError(status: number, type: string, message: string): BodyError {
  return Object.assign(new Error(message), { status, type });
}

/** body-parser's strict parse: `{}` for an empty body, only objects and arrays at the top. */
function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  if (text[0] !== '{' && text[0] !== '[') {
    const first = FIRST_NON_WHITESPACE.exec(text)?.[1] || undefined;
    if (first !== '{' && first !== '[') {
      // body-parser's message for a strict violation: JSON.parse's own, on the text from that character.
      const index = first === undefined ? -1 : text.indexOf(first);
      const partial = index === -1 ? '' : text.slice(0, index) + '#'.repeat(text.length - index);
      let message = 'strict violation';
      try {
        JSON.parse(partial);
      } catch (error) {
        message = (error as Error).message.replace(JSON_SYNTAX, (held) =>
          text.substring(index, index + held.length),
        );
      }
      throw bodyError(400, 'entity.parse.failed', message);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bodyError(400, 'entity.parse.failed', (error as Error).message);
  }
}

/** Whether this body is one the lean reader takes; anything else is body-parser's. */
function lean(req: IncomingMessage, maxBodyBytes: number): boolean {
  const { headers } = req;
  if (headers['transfer-encoding'] !== undefined) return false;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const length = headers['content-length'];
  if (length === undefined || !/^\d{1,15}$/.test(length) || Number(length) > maxBodyBytes) return false;
  // Only plain `application/json`, with at most a UTF-8 charset: every other type and charset is body-parser's.
  const type = headers['content-type']?.toLowerCase().replaceAll(' ', '');
  return type === 'application/json' || type === 'application/json;charset=utf-8';
}

/** JSON bodies up to `maxBodyBytes`, in front of `fallback` (body-parser, for every other body). */
export function boundedJson(maxBodyBytes: number, fallback: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.body !== undefined || req.readableEnded) return next();
    if (!lean(req, maxBodyBytes)) return fallback(req, res, next);
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) return next(error);
      let body = Buffer.concat(chunks, received);
      // iconv (body-parser's decoder) drops a UTF-8 byte order mark.
      if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
      try {
        req.body = parseStrict(body.toString('utf8'));
      } catch (parseError) {
        return next(parseError);
      }
      next();
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onError = (error: Error): void => finish(bodyError(400, 'request.aborted', error.message));
    const onAborted = (): void => finish(bodyError(400, 'request.aborted', 'request aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  };
}
