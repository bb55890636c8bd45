import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, fixture, repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { freePort, start, startHttpProxy, stopAll, waitUntil } from './support/processes.js';

// The Python clients people already use, for real: the official `mcp` SDK as a client over
// stdio, SSE and Streamable HTTP; FastMCP servers (stdio and SSE) as backends; and the README's
// LangGraph example (langchain-mcp-adapters + a ReAct agent) with a scripted chat model. The
// packages come from PyPI, pinned in examples/langgraph/requirements.txt, into a virtual
// environment under .cache/ that is reused while that file is unchanged.

const run = promisify(execFile);
const requirements = join(repoRoot, 'examples/langgraph/requirements.txt');
const scripts = join(repoRoot, 'test/clients/python');
const PIP_TIMEOUT_MS = 600_000; // a cold install from PyPI; a warm cache takes seconds
const CLIENT_TIMEOUT_MS = 60_000; // the scripts bound themselves at 30–60 s; this is the backstop

function venvDir(): string {
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex').slice(0, 12);
  return join(repoRoot, '.cache/python-clients', `venv-${digest}`);
}

async function ensureVenv(): Promise<string> {
  const dir = venvDir();
  const python = join(dir, 'bin/python');
  const marker = join(dir, '.installed');
  if (existsSync(marker)) return python;
  rmSync(dir, { recursive: true, force: true });
  await run('python3', ['-m', 'venv', dir], { timeout: 120_000 });
  await run(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--timeout', '60', '-r', requirements],
    { timeout: PIP_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
  );
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return python;
}

/** Runs one of the Python scripts; returns the JSON it printed last. */
async function py<T>(python: string, script: string, ...args: string[]): Promise<T> {
  try {
    const { stdout } = await run(python, [join(scripts, script), ...args], {
      timeout: CLIENT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      cwd: repoRoot,
    });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(last) as T;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${script} ${args.join(' ')} failed: ${String(error)}\n${stderr ?? ''}`);
  }
}

interface SdkResult {
  serverInfo: string;
  tools: string[];
  isError: boolean;
  text: string[];
}
interface AgentMessage {
  type: string;
  name: string | null;
  content: string;
  tool_calls: string[];
}

let python: string;
let proxy: RunningProxy;
let configPath: string;

beforeAll(async () => {
  python = await ensureVenv();
  const ssePort = await freePort();
  start(python, [join(scripts, 'fastmcp_server.py'), 'sse', String(ssePort)]);
  await waitUntil(
    async () => {
      const res = await fetch(`http://127.0.0.1:${ssePort}/sse`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.ok;
    },
    30_000,
    'the FastMCP SSE server',
  );
  configPath = writeTempFile('mcp.json', {
    mcpServers: {
      calculator: fixture('calculator.ts'),
      py: { command: python, args: [join(scripts, 'fastmcp_server.py'), 'stdio'] },
      pysse: { url: `http://127.0.0.1:${ssePort}/sse` },
    },
  });
  proxy = await startHttpProxy(configPath);
  const status = (await (await fetch(`${proxy.url}/mcp_servers`)).json()) as {
    servers: { name: string; state: string; error: string | null }[];
  };
  for (const server of status.servers)
    expect(server, JSON.stringify(server)).toMatchObject({ state: 'ready' });
}, PIP_TIMEOUT_MS + 120_000);

afterAll(stopAll);

describe('the official Python MCP SDK as a client', () => {
  it('over Streamable HTTP, reaching a FastMCP stdio backend', async () => {
    const out = await py<SdkResult>(
      python,
      'sdk_client.py',
      'http',
      'py__greet',
      '{"name":"Ada"}',
      `${proxy.url}/mcp`,
    );
    expect(out.serverInfo).toBe('multi-mcp');
    expect(out.tools).toEqual(expect.arrayContaining(['calculator__add', 'py__greet', 'pysse__greet']));
    expect(out).toMatchObject({ isError: false, text: ['Hello, Ada, from FastMCP!'] });
  });

  it('over legacy SSE, reaching a FastMCP SSE backend', async () => {
    const out = await py<SdkResult>(
      python,
      'sdk_client.py',
      'sse',
      'pysse__greet',
      '{"name":"Bo"}',
      `${proxy.url}/sse`,
    );
    expect(out).toMatchObject({ isError: false, text: ['Hello, Bo, from FastMCP!'] });
  });

  it('over stdio, running the proxy as a desktop client would', async () => {
    const out = await py<SdkResult>(
      python,
      'sdk_client.py',
      'stdio',
      'calculator__add',
      '{"a":2,"b":3}',
      '--',
      process.execPath,
      cliPath,
      '--transport',
      'stdio',
      '--config',
      configPath,
    );
    expect(out.tools).toEqual(expect.arrayContaining(['calculator__add', 'py__greet']));
    expect(out).toMatchObject({ isError: false, text: ['5'] });
  });
});

describe('the README LangGraph example (langchain-mcp-adapters + ReAct agent, scripted model)', () => {
  const toolAnswer = (messages: AgentMessage[], tool: string): AgentMessage | undefined =>
    messages.find((m) => m.type === 'tool' && m.name === tool);

  it('calls a proxied tool over Streamable HTTP and gets its result', async () => {
    const messages = await py<AgentMessage[]>(
      python,
      'langgraph_agent.py',
      `${proxy.url}/mcp`,
      'calculator__add',
      '{"a":2,"b":3}',
    );
    expect(messages.map((m) => m.type)).toEqual(['human', 'ai', 'tool', 'ai']);
    expect(messages[1]?.tool_calls).toEqual(['calculator__add']);
    expect(toolAnswer(messages, 'calculator__add')?.content).toBe('5');
  });

  it('calls a proxied tool over SSE and gets its result', async () => {
    const messages = await py<AgentMessage[]>(
      python,
      'langgraph_agent.py',
      `${proxy.url}/sse`,
      'py__greet',
      '{"name":"Cy"}',
    );
    expect(toolAnswer(messages, 'py__greet')?.content).toBe('Hello, Cy, from FastMCP!');
  });
});
