// The floor of any Node HTTP hop: a plain `node:http` server that reads a JSON-RPC POST, parses
// it and answers it (an echo result), with no MCP machinery and no backend behind it. The
// capacity table holds the proxy's raw-load figures against it, measured in the same run. It
// also answers just enough of a 2025-era session (initialize with a session id, notifications
// with 202, no GET stream) for the SDK client, so the latency table can show the best any
// server could do with that client on this machine.
//   node test/bench/floor-server.mjs <port>
/* global process, Buffer */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const SESSION_ID = 'floor-session';

function answer(res, status, message, headers = {}) {
  const body = JSON.stringify(message);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

createServer((req, res) => {
  if (req.method === 'GET') {
    // The readiness probe is GET /; an SDK client's GET /mcp (its notification stream) is not served.
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    else res.writeHead(405).end();
    return;
  }
  if (req.method === 'DELETE') {
    res.writeHead(200).end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (message.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    if (message.method === 'initialize') {
      const result = {
        protocolVersion: message.params?.protocolVersion ?? '2025-11-25',
        capabilities: { tools: {} },
        serverInfo: { name: 'floor', version: '1' },
      };
      answer(res, 200, { jsonrpc: '2.0', id: message.id, result }, { 'mcp-session-id': SESSION_ID });
      return;
    }
    const text = `Echo: ${message.params?.arguments?.message ?? ''}`;
    answer(res, 200, { jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text }] } });
  });
}).listen(port, '127.0.0.1');
