import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/controlplane.js';
import { run } from '../harness/kubectl.js';
import { waitFor } from '../harness/k8s.js';
import { descendants, isRunning } from '../support/procfs.js';

// `npm run dev:cluster` as the README tells a laptop user to run it: its own control plane, proxy,
// operator and server-everything (the shared control plane of this project is not used), driven
// only through the KEY=value lines it prints, then stopped with Ctrl-C.

const START_MS = 240_000; // build check + a control plane start on a loaded 2-core machine
const CALLABLE_MS = 60_000; // a stdio server started through tsx
const STOP_MS = 60_000;

describe('npm run dev:cluster', () => {
  it(
    'prints KUBECONFIG, MCP_URL and ADMIN_URL; kubectl apply -f config/samples/ makes calculator callable; Ctrl-C leaves no process',
    async () => {
      // Its own process group, so a signal to the group is what Ctrl-C in a terminal sends.
      const child = spawn('npm', ['run', 'dev:cluster'], {
        cwd: repoRoot,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const t0 = Date.now();
      const timings: string[] = [];
      const running = (): boolean => child.exitCode === null && child.signalCode === null;
      const kill = (pid: number): void => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const seen = new Set<number>();
      const remember = (): void => {
        if (child.pid !== undefined) for (const pid of descendants(child.pid)) seen.add(pid);
      };
      let client: Client | undefined;
      let stopped = false;
      let left: number[] = [];
      try {
        const value = (key: string): string | undefined =>
          new RegExp(`^${key}=(.+)$`, 'm').exec(stdout)?.[1]?.trim();
        const lines = await waitFor(
          'the KUBECONFIG, MCP_URL, ADMIN_URL and ADMIN_TOKEN lines',
          () => {
            if (!running()) throw new Error(`exited ${String(child.exitCode)}:\n${stderr}`);
            const got = ['KUBECONFIG', 'KUBECTL', 'MCP_URL', 'ADMIN_URL', 'ADMIN_TOKEN'].map(value);
            return got.every((v) => v !== undefined) && (got as string[]);
          },
          { timeoutMs: START_MS, intervalMs: 200 },
        );
        const [kubeconfig, kubectl, mcpUrl, adminUrl, token] = lines as [
          string,
          string,
          string,
          string,
          string,
        ];
        expect(mcpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
        expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(stderr).toContain('allows stdio McpServers in EVERY namespace');
        remember();
        timings.push(`lines printed ${Date.now() - t0} ms after npm run`);

        // The command the issue and the README give, with the kubeconfig it printed.
        const appliedAt = Date.now();
        const applied = await run(kubectl, ['apply', '-f', join(repoRoot, 'config/samples/')], {
          kubeconfig,
        });
        expect(applied.stdout).toContain('mcpserver.multi-mcp.io/calculator created');

        client = new Client({ name: 'dev-cluster-test', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));
        const connected = client;
        const names = await waitFor(
          'calculator__add at MCP_URL',
          async () => {
            const tools = (await connected.listTools()).tools.map((t) => t.name);
            return tools.includes('calculator__add') && tools;
          },
          { timeoutMs: CALLABLE_MS, intervalMs: 250 },
        );
        timings.push(`calculator__add listed ${Date.now() - appliedAt} ms after kubectl apply`);
        // The sample's tools.exclude reached the proxy too.
        expect(names).not.toContain('calculator__divide');
        const sum = await connected.callTool({ name: 'calculator__add', arguments: { a: 2, b: 3 } });
        expect(JSON.stringify(sum.content)).toContain('5');

        const servers = await fetch(`${adminUrl}/mcp_servers`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(servers.status).toBe(200);
        const body = (await servers.json()) as { servers: { name: string; owner?: string }[] };
        expect(body.servers).toContainEqual(
          expect.objectContaining({ name: 'default_calculator', owner: 'operator' }),
        );
        await run(kubectl, ['wait', '--for=condition=Ready', 'mcps/calculator', '--timeout=60s'], {
          kubeconfig,
          timeoutMs: 70_000,
        });
      } finally {
        await client?.close().catch(() => undefined);
        remember();
        // Ctrl-C: SIGINT to the whole foreground process group.
        if (child.pid !== undefined && running()) process.kill(-child.pid, 'SIGINT');
        const interrupted = Date.now();
        stopped = await Promise.race([
          exited.then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), STOP_MS)),
        ]);
        timings.push(`exited ${Date.now() - interrupted} ms after SIGINT`);
        console.log(`[dev-cluster] ${timings.join('; ')}`);
        left = await waitFor(
          'every process it started to exit',
          () => [...seen].every((p) => !isRunning(p)),
          {
            timeoutMs: 30_000,
            intervalMs: 100,
          },
        ).then(
          () => [],
          () => [...seen].filter(isRunning),
        );
        // Whatever failed: nothing of this test outlives it (these are the pids it started).
        for (const pid of left) kill(pid);
        if (child.pid !== undefined && running()) kill(-child.pid);
      }
      expect(stopped, `npm run dev:cluster still running ${STOP_MS / 1000} s after SIGINT:\n${stderr}`).toBe(
        true,
      );
      expect(left, 'processes left running after Ctrl-C').toEqual([]);
      // npm's shell, tsx, the dev-cluster script, the control plane, server-everything, proxy, operator.
      expect(seen.size).toBeGreaterThanOrEqual(5);
      expect(stderr).toMatch(/stopped \(exit 0\)/);
      const logFile = /^Log: (.+)$/m.exec(stderr)?.[1];
      expect(logFile).toBeDefined();
      expect(existsSync(dirname(logFile ?? '')), 'the control plane data dir after Ctrl-C').toBe(false);
    },
    START_MS + CALLABLE_MS + STOP_MS + 120_000,
  );
});
