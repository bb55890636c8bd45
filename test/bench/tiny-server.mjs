// The lightest stdio MCP server that lists a tool: plain JavaScript (no SDK, no tsx loader), so that
// the churn bench measures the proxy's cost per backend rather than a server framework's start-up.
//   node test/bench/tiny-server.mjs <name>
/* global process */
import { createInterface } from 'node:readline';

const name = process.argv[2] ?? 'tiny';
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const tool = { name: 'ping', description: `answers pong (${name})`, inputSchema: { type: 'object' } };

createInterface({ input: process.stdin }).on('line', (line) => {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return;
  }
  if (message.id === undefined || typeof message.method !== 'string') return;
  const { id, method, params } = message;
  if (method === 'initialize') {
    send({
      id,
      result: {
        protocolVersion: params?.protocolVersion ?? '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name, version: '1.0.0' },
      },
    });
  } else if (method === 'tools/list') send({ id, result: { tools: [tool] } });
  else if (method === 'tools/call') send({ id, result: { content: [{ type: 'text', text: 'pong' }] } });
  else if (method === 'ping') send({ id, result: {} });
  else send({ id, error: { code: -32601, message: `method not found: ${method}` } });
});
process.stdin.on('end', () => process.exit(0));
