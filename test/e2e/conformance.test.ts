import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KNOWN_GAPS } from '../conformance/known-gaps.js';
import type { RequirementSet, Suite } from '../conformance/suite.js';
import {
  SETS,
  installSuite,
  passes,
  runClientScenario,
  runServerScenarios,
  table,
} from '../conformance/suite.js';
import { repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy, Started } from './support/processes.js';
import { start, startHttpProxy, stopAll, waitForOutput } from './support/processes.js';

// The official suite's server scenarios, against the fixture directly and through the proxy
// (the fixture as its only backend, empty prefix). A scenario that passes directly but not
// through the proxy is a proxy bug unless KNOWN_GAPS lists it with the reason.
const RUN_TIMEOUT_MS = 120_000; // one whole set; measured ≈ 3 s (2025) and 8 s (2026) on 2 cores

describe('official MCP conformance suite, server scenarios', () => {
  let suite: Suite;
  let fixture: Started;
  let fixtureUrl: string;
  let proxy: RunningProxy;

  beforeAll(async () => {
    suite = await installSuite();
    fixture = start(process.execPath, [
      '--import',
      'tsx',
      join(repoRoot, 'test/fixtures/servers/conformance.ts'),
      '--http',
      '0',
    ]);
    const [, url] = await waitForOutput(fixture, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
    if (!url) throw new Error('fixture printed no url');
    fixtureUrl = url;
    const config = writeTempFile('mcp.json', { mcpServers: { conformance: { url, prefix: '' } } });
    proxy = await startHttpProxy(config);
  }, 240_000);

  afterAll(stopAll);

  it.each(SETS)(
    '%s: every scenario that passes directly passes through the proxy (known gaps aside)',
    async (set: RequirementSet) => {
      // One after the other: list-change triggers in one run must not reach the other's streams.
      const direct = await runServerScenarios(suite, fixtureUrl, set, RUN_TIMEOUT_MS);
      const proxied = await runServerScenarios(suite, `${proxy.url}/mcp`, set, RUN_TIMEOUT_MS);
      console.log(`\n${table(set, direct, proxied)}\n`);

      const gaps = [...direct]
        .filter(([scenario, result]) => passes(result) && !passes(proxied.get(scenario)))
        .map(([scenario]) => scenario);
      const known = KNOWN_GAPS.filter((g) => g.set === set).map((g) => g.scenario);
      expect(direct.size, 'the suite ran no scenarios').toBeGreaterThan(0);
      expect({ newGaps: gaps.filter((s) => !known.includes(s)) }).toEqual({ newGaps: [] });
      // A listed gap that now passes (or no longer passes directly) must leave the list.
      expect({ fixedOrStale: known.filter((s) => !gaps.includes(s)) }).toEqual({ fixedOrStale: [] });
    },
    2 * RUN_TIMEOUT_MS,
  );
});

// The suite's client scenarios with the proxy as the client under test: its scenario server is
// the proxy's only backend, and test/conformance/proxy-client.ts drives the proxy (over stdio)
// as a user would: list the tools, call them, get the prompts, read the resources, confirm what
// is asked. What the scenario checks is what the proxy sent.
const CLIENT_SCENARIOS = [
  'initialize',
  'tools_call',
  'request-metadata',
  'http-standard-headers',
  'http-custom-headers',
  'http-invalid-tool-headers',
  'sep-2322-client-request-state',
];

// Checks (by id or name) a scenario may leave short of SUCCESS, and why. request-metadata scores
// its version-retry check on the last request its server sees; after the modern connection, the
// proxy's last request is the 2025-era `initialize` of the twin (enveloped, but with the 2025
// version), probing whether the server also serves 2025-era clients. http-standard-headers skips
// its notifications/initialized check: its server answers that `initialize` with 2026-07-28, no
// 2025-era version, so the twin rightly stops before `notifications/initialized` (a 2026-07-28
// client sends neither).
const ALLOWED_WARNINGS: Record<string, string[]> = {
  'request-metadata': ['sep-2575-client-retry-supported-version'],
  'http-standard-headers': ['ClientMcpMethodHeader_notifications_initialized'],
};

describe('official MCP conformance suite, client scenarios with the proxy as the client', () => {
  let suite: Suite;
  const command = `${process.execPath} --import tsx ${join(repoRoot, 'test/conformance/proxy-client.ts')}`;

  beforeAll(async () => {
    suite = await installSuite();
  }, 240_000);

  it.each(CLIENT_SCENARIOS)(
    '%s passes',
    async (scenario) => {
      const result = await runClientScenario(suite, command, scenario, RUN_TIMEOUT_MS);
      console.log(`client ${scenario}: ${result.passed}/${result.passed + result.failed} checks passed`);
      expect(result.passed, 'the scenario ran no checks').toBeGreaterThan(0);
      expect(result.failed, 'checks that FAILED').toBe(0);
      const allowed = ALLOWED_WARNINGS[scenario] ?? [];
      const failed = result.failedChecks
        .filter((c) => !allowed.includes(c.id) && !allowed.includes(c.name ?? ''))
        .map((c) => `${c.id} (${c.name})`);
      expect({ scenario, failed }).toEqual({
        scenario,
        failed: [],
      });
    },
    RUN_TIMEOUT_MS,
  );
});
