// The floor of any Node HTTP hop: a plain `node:http` server that reads a JSON-RPC POST, parses
// it and answers it (an echo result), with no MCP machinery and no backend behind it. The
// capacity table holds the proxy's raw-load figures against it, measured in the same run.
//   node test/bench/floor-server.mjs <port>
/* global process, Buffer */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);

createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
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
    const text = `Echo: ${message.params?.arguments?.message ?? ''}`;
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: message.id,
      result: { content: [{ type: 'text', text }] },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}).listen(port, '127.0.0.1');
