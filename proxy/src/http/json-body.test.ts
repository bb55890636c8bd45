import type { AddressInfo } from 'node:net';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { bodyErrors } from './guards.js';
import { boundedJson } from './json-body.js';

// The lean reader against body-parser alone, on the same bodies: what the handler sees and what
// the client is answered must be the same, whichever of the two read the body.

const LIMIT = 64;
const quiet = createLogger('error', () => {});

function app(lean: boolean): express.Express {
  const parser = express.json({ limit: LIMIT, type: ['application/json', 'application/*+json'] });
  const served = express();
  served.post('/mcp', lean ? boundedJson(LIMIT, parser) : parser, (req, res) => {
    res.json({ body: req.body === undefined ? '(undefined)' : (req.body as unknown) });
  });
  served.use(bodyErrors(LIMIT, quiet));
  return served;
}

async function listening(handler: express.Express): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function post(server: Server, body: Buffer, headers: Record<string, string>): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(`${res.statusCode} ${Buffer.concat(chunks).toString()}`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
const cases: [string, Buffer, Record<string, string>][] = [
  ['an object', Buffer.from('{"jsonrpc":"2.0","id":1,"method":"x"}'), json],
  ['an array', Buffer.from('[1,2]'), json],
  ['leading whitespace', Buffer.from(' \n {"a":1}'), json],
  ['an empty body', Buffer.from(''), json],
  ['a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"é"}')]), json],
  ['a charset', Buffer.from('{"a":1}'), { 'content-type': 'application/json; charset=utf-8' }],
  ['a top-level number (strict)', Buffer.from('1'), json],
  ['a top-level string (strict)', Buffer.from(' "x"'), json],
  ['invalid JSON', Buffer.from('{"a":'), json],
  ['garbage', Buffer.from('nope'), json],
  ['over the limit', Buffer.from(`{"a":"${'x'.repeat(LIMIT)}"}`), json],
  ['another charset', Buffer.from('{"a":1}'), { 'content-type': 'application/json; charset=latin1' }],
  ['a +json type', Buffer.from('{"a":1}'), { 'content-type': 'application/vnd.x+json' }],
];

describe('boundedJson reads what body-parser reads', () => {
  let leanServer: Server;
  let parserServer: Server;

  beforeAll(async () => {
    [leanServer, parserServer] = await Promise.all([listening(app(true)), listening(app(false))]);
  });
  afterAll(() => {
    leanServer?.close();
    parserServer?.close();
  });

  it.each(cases)('%s', async (_, body, headers) => {
    const [viaLean, viaParser] = await Promise.all([
      post(leanServer, body, headers),
      post(parserServer, body, headers),
    ]);
    expect(viaLean).toBe(viaParser);
  });

  it('parses a chunked body (body-parser’s) the same way', async () => {
    const body = Buffer.from('{"a":[1,2,3]}');
    const headers = { ...json, 'transfer-encoding': 'chunked' };
    expect(await post(leanServer, body, headers)).toBe(await post(parserServer, body, headers));
    expect(await post(leanServer, body, headers)).toBe('200 {"body":{"a":[1,2,3]}}');
  });
});
