// The lightest stdio MCP server that lists a tool: plain JavaScript (no SDK, no tsx loader), so that
// the churn bench measures the proxy's cost per backend rather than a server framework's start-up.
//   node test/bench/tiny-server.mjs <name> [tools]
// With a tool count it lists that many tools (each with a small schema, like real servers) plus
// `bump`, which changes the first tool's description and announces `notifications/tools/list_changed`:
// the tools-list bench measures the proxy's rebuild after one backend changes with it.
/* global process */
import { createInterface } from 'node:readline';

const name = process.argv[2] ?? 'tiny';
const count = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
let bumps = 0;
const toolsNow = () => {
  if (count === undefined)
    return [{ name: 'ping', description: `answers pong (${name})`, inputSchema: { type: 'object' } }];
  const tools = [];
  for (let i = 0; i < count; i++) {
    tools.push({
      name: `tool_${i}`,
      description: `tool ${i} of ${name}${i === 0 ? `, changed ${bumps} times` : ''}: does one small thing`,
      inputSchema: {
        type: 'object',
        properties: { query: { type: 'string', description: 'what to look for' }, limit: { type: 'number' } },
        required: ['query'],
      },
    });
  }
  tools.push({
    name: 'bump',
    description: 'changes this server’s tool list',
    inputSchema: { type: 'object' },
  });
  return tools;
};

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
        capabilities: { tools: count === undefined ? {} : { listChanged: true } },
        serverInfo: { name, version: '1.0.0' },
      },
    });
  } else if (method === 'tools/list') send({ id, result: { tools: toolsNow() } });
  else if (method === 'tools/call' && params?.name === 'bump' && count !== undefined) {
    bumps++;
    send({ id, result: { content: [{ type: 'text', text: String(bumps) }] } });
    send({ method: 'notifications/tools/list_changed' });
  } else if (method === 'tools/call') send({ id, result: { content: [{ type: 'text', text: 'pong' }] } });
  else if (method === 'ping') send({ id, result: {} });
  else send({ id, error: { code: -32601, message: `method not found: ${method}` } });
});
process.stdin.on('end', () => process.exit(0));
