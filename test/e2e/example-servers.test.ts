import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

/**
 * The example servers in test/fixtures/servers, checked with real clients over real transports:
 * the v1 SDK client over stdio (what most desktop hosts and the proxy's stdio backends speak) and
 * the v2 client over Streamable HTTP (`--http 0`), in both negotiation modes.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVERS = 'test/fixtures/servers';
const STARTUP_MS = 20_000;
const REQUEST_MS = 10_000;

/** The slice of the client API these tests use; v1 and v2 clients both satisfy it. */
interface Session {
  listTools(): Promise<{ tools: { name: string; outputSchema?: unknown }[] }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<ToolResult>;
  listResources(): Promise<{ resources: { uri: string }[] }>;
  listResourceTemplates(): Promise<{ resourceTemplates: { uriTemplate: string }[] }>;
  readResource(params: { uri: string }): Promise<{ contents: { uri: string; text?: string }[] }>;
  listPrompts(): Promise<{ prompts: { name: string }[] }>;
  getPrompt(params: {
    name: string;
    arguments?: Record<string, string>;
  }): Promise<{ messages: { role: string; content: { type: string; text?: string } }[] }>;
  complete(params: {
    ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string };
    argument: { name: string; value: string };
  }): Promise<{ completion: { values: string[] } }>;
  close(): Promise<void>;
}

interface ToolResult {
  content?: unknown;
  isError?: boolean;
  structuredContent?: unknown;
}

const children = new Set<ChildProcess>();
const sessions = new Set<Session>();

afterEach(async () => {
  await Promise.allSettled([...sessions].map((session) => session.close()));
  sessions.clear();
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function serverArgs(file: string, extra: readonly string[] = []): string[] {
  return ['--import', 'tsx', `${SERVERS}/${file}`, ...extra];
}

async function connectStdio(file: string, extra: readonly string[] = []): Promise<Session> {
  const client = new V1Client({ name: 'example-servers-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: serverArgs(file, extra),
    cwd: ROOT,
    stderr: 'pipe',
  });
  await within(STARTUP_MS, `stdio connect to ${file}`, client.connect(transport));
  const session = client as unknown as Session;
  sessions.add(session);
  return session;
}

/** Starts a server with `--http 0` and resolves with the URL it prints on stderr. */
async function startHttp(file: string, extra: readonly string[] = []): Promise<URL> {
  const child = spawn(process.execPath, serverArgs(file, [...extra, '--http', '0']), {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  const url = new Promise<URL>((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr);
      if (match?.[1]) resolve(new URL(match[1]));
    });
    child.once('exit', (code) =>
      reject(new Error(`${file} exited with ${code} before listening: ${stderr}`)),
    );
  });
  return within(STARTUP_MS, `${file} --http 0`, url);
}

async function connectHttp(
  file: string,
  mode: 'legacy' | 'auto',
  extra: readonly string[] = [],
): Promise<Session> {
  const url = await startHttp(file, extra);
  const client = new Client(
    { name: 'example-servers-test', version: '2.0.0' },
    { versionNegotiation: { mode } },
  );
  await within(REQUEST_MS, `http connect to ${file}`, client.connect(new StreamableHTTPClientTransport(url)));
  const session = client as unknown as Session;
  sessions.add(session);
  return session;
}

const transports: [string, (file: string, extra?: readonly string[]) => Promise<Session>][] = [
  ['stdio, v1 client', connectStdio],
  ['http, v2 client (legacy handshake)', (file, extra) => connectHttp(file, 'legacy', extra)],
  ['http, v2 client (auto negotiation)', (file, extra) => connectHttp(file, 'auto', extra)],
];

function text(result: ToolResult): string {
  const blocks = Array.isArray(result.content) ? (result.content as { type: string; text?: string }[]) : [];
  return blocks.map((block) => block.text ?? '').join('\n');
}

function names(items: { name: string }[]): string[] {
  return items.map((item) => item.name).sort();
}

describe.each(transports)('example servers over %s', (_label, connect) => {
  it('calculator: arithmetic, division by zero, constants, prompt', async () => {
    const client = await connect('calculator.ts');
    const { tools } = await within(REQUEST_MS, 'tools/list', client.listTools());
    expect(names(tools)).toEqual(['add', 'divide', 'multiply', 'subtract']);
    expect(tools.find((tool) => tool.name === 'add')?.outputSchema).toBeDefined();

    const sum = await within(REQUEST_MS, 'add', client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }));
    expect(sum.isError).toBeFalsy();
    expect(text(sum)).toBe('5');
    expect(sum.structuredContent).toEqual({ result: 5 });
    const product = await client.callTool({ name: 'multiply', arguments: { a: 6, b: 7 } });
    expect(product.structuredContent).toEqual({ result: 42 });
    expect(text(await client.callTool({ name: 'subtract', arguments: { a: 2, b: 5 } }))).toBe('-3');
    expect(text(await client.callTool({ name: 'divide', arguments: { a: 7, b: 2 } }))).toBe('3.5');

    const byZero = await client.callTool({ name: 'divide', arguments: { a: 1, b: 0 } });
    expect(byZero.isError).toBe(true);
    expect(text(byZero)).toBe('Cannot divide 1 by zero');

    const { contents } = await client.readResource({ uri: 'calculator://constants' });
    const constants = JSON.parse(contents[0]?.text ?? '{}') as Record<string, number>;
    expect(constants.pi).toBe(Math.PI);
    expect(constants.e).toBe(Math.E);

    const { prompts } = await client.listPrompts();
    expect(names(prompts)).toEqual(['explain-calculation']);
    const prompt = await client.getPrompt({
      name: 'explain-calculation',
      arguments: { expression: '(2 + 3) * 4' },
    });
    expect(prompt.messages[0]?.role).toBe('user');
    expect(prompt.messages[0]?.content.text).toContain('(2 + 3) * 4');
    const levels = await client.complete({
      ref: { type: 'ref/prompt', name: 'explain-calculation' },
      argument: { name: 'level', value: 'ex' },
    });
    expect(levels.completion.values).toEqual(['expert']);
  });

  it('unit-converter: conversions, unknown unit, template, completion', async () => {
    const client = await connect('unit-converter.ts');
    expect(names((await client.listTools()).tools)).toEqual(['convert']);

    const km = await client.callTool({ name: 'convert', arguments: { value: 1, from: 'km', to: 'm' } });
    expect(km.structuredContent).toEqual({ value: 1000, unit: 'm', category: 'length' });
    const boiling = await client.callTool({ name: 'convert', arguments: { value: 100, from: 'C', to: 'F' } });
    expect(boiling.structuredContent).toEqual({ value: 212, unit: 'F', category: 'temperature' });
    const pound = await client.callTool({ name: 'convert', arguments: { value: 1, from: 'lb', to: 'g' } });
    expect(text(pound)).toBe('1 lb = 453.59237 g');

    const unknown = await client.callTool({
      name: 'convert',
      arguments: { value: 1, from: 'furlong', to: 'm' },
    });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('"furlong"');
    expect(text(unknown)).toContain('allowed units: mm, cm, m, km');
    const mixed = await client.callTool({ name: 'convert', arguments: { value: 1, from: 'kg', to: 'm' } });
    expect(mixed.isError).toBe(true);

    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(['units://{category}']);
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri).sort()).toEqual([
      'units://length',
      'units://mass',
      'units://temperature',
    ]);
    const mass = await client.readResource({ uri: 'units://mass' });
    expect(JSON.parse(mass.contents[0]?.text ?? '{}')).toEqual({
      category: 'mass',
      units: ['mg', 'g', 'kg', 't', 'oz', 'lb'],
    });

    const completion = await client.complete({
      ref: { type: 'ref/resource', uri: 'units://{category}' },
      argument: { name: 'category', value: 'm' },
    });
    expect(completion.completion.values).toEqual(['mass']);
    const promptCompletion = await client.complete({
      ref: { type: 'ref/prompt', name: 'conversion-table' },
      argument: { name: 'category', value: 'te' },
    });
    expect(promptCompletion.completion.values).toEqual(['temperature']);
    const prompt = await client.getPrompt({ name: 'conversion-table', arguments: { category: 'length' } });
    expect(prompt.messages[0]?.content.text).toContain('mm, cm, m, km');
  });

  it('weather: deterministic forecast, alerts, cities, prompt completion', async () => {
    const client = await connect('weather.ts');
    expect(names((await client.listTools()).tools)).toEqual(['get_alerts', 'get_forecast']);

    const first = await client.callTool({ name: 'get_forecast', arguments: { city: 'Paris', days: 5 } });
    const again = await client.callTool({ name: 'get_forecast', arguments: { city: 'Paris', days: 5 } });
    expect(first.isError).toBeFalsy();
    expect(again).toEqual(first);
    const forecast = first.structuredContent as {
      city: string;
      days: { day: number; highC: number; lowC: number }[];
    };
    expect(forecast.city).toBe('Paris');
    expect(forecast.days.map((day) => day.day)).toEqual([1, 2, 3, 4, 5]);
    for (const day of forecast.days) expect(day.lowC).toBeLessThan(day.highC);
    const tokyo = await client.callTool({ name: 'get_forecast', arguments: { city: 'Tokyo' } });
    expect((tokyo.structuredContent as { days: unknown[] }).days).toHaveLength(3);
    expect(tokyo.structuredContent).not.toEqual(first.structuredContent);

    const tooMany = await client.callTool({ name: 'get_forecast', arguments: { city: 'Paris', days: 30 } });
    expect(tooMany.isError).toBe(true);

    const alerts = await client.callTool({ name: 'get_alerts', arguments: { city: 'Paris' } });
    expect(text(alerts)).toMatch(/Paris/);

    const cities = await client.readResource({ uri: 'weather://cities' });
    expect(JSON.parse(cities.contents[0]?.text ?? '[]')).toContain('Paris');

    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'plan-trip' },
      argument: { name: 'city', value: 'sa' },
    });
    expect(completion.completion.values).toEqual(['San Francisco']);
    const prompt = await client.getPrompt({ name: 'plan-trip', arguments: { city: 'Tokyo', days: '2' } });
    expect(prompt.messages[0]?.content.text).toContain('2-day trip to Tokyo');
  });

  it('echo-named: identity from argv, shared tool names', async () => {
    const alpha = await connect('echo-named.ts', ['alpha']);
    const beta = await connect('echo-named.ts', ['beta']);
    expect(names((await alpha.listTools()).tools)).toEqual(['crash', 'echo', 'whoami']);
    expect(names((await beta.listTools()).tools)).toEqual(['crash', 'echo', 'whoami']);
    expect(text(await alpha.callTool({ name: 'whoami', arguments: {} }))).toBe('alpha');
    expect(text(await beta.callTool({ name: 'whoami', arguments: {} }))).toBe('beta');
    expect(text(await beta.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('beta: hi');
  });
});

describe('bad fixtures', () => {
  it('crash-at-start exits 1 with a line on stderr', async () => {
    const child = spawn(process.execPath, serverArgs('crash-at-start.ts'), { cwd: ROOT, stdio: 'pipe' });
    children.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await within(
      STARTUP_MS,
      'crash-at-start exit',
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
    );
    expect(code).toBe(1);
    expect(stderr).toContain('crash-at-start');
  });

  it('never-initializes never answers initialize', async () => {
    const client = new V1Client({ name: 'example-servers-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: serverArgs('never-initializes.ts'),
      cwd: ROOT,
      stderr: 'pipe',
    });
    try {
      await expect(client.connect(transport, { timeout: 1_500 })).rejects.toThrow(/timed out/i);
    } finally {
      await client.close();
    }
  });
});
