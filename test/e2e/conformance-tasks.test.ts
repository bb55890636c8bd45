import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Suite } from '../conformance/suite.js';
import { installSuite, runNamedScenarios } from '../conformance/suite.js';
import { fixture, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, stopAll } from './support/processes.js';

// The official suite's tasks-extension scenarios (io.modelcontextprotocol/tasks, 2026-07-28)
// against the proxy, whose only backend is a 2025-11-25 tasks server (the v1 SDK's tasks
// runtime, test/fixtures/servers/tasks.ts, with the tools the scenarios call): every check is
// answered by the proxy's translation between the two forms. There is no direct run to compare
// with: no SDK serves the extension, which is why the backend is of the other era.

const SCENARIOS = [
  'tasks-lifecycle',
  'tasks-capability-negotiation',
  'tasks-wire-fields',
  'tasks-request-state-removal',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-dispatch-and-envelope',
  'tasks-required-task-error',
  'tasks-mrtr-composition',
  // Optional notifications over subscriptions/listen: the suite itself skips its only check.
  'tasks-status-notifications',
];

describe('official conformance suite, tasks extension scenarios through the proxy', () => {
  let suite: Suite;
  let proxy: RunningProxy;

  beforeAll(async () => {
    suite = await installSuite();
    const config = writeTempFile('mcp.json', {
      mcpServers: { jobs: { ...fixture('tasks.ts'), prefix: '' } },
    });
    proxy = await startHttpProxy(config);
  }, 240_000);

  afterAll(stopAll);

  it('passes every check of every tasks scenario', async () => {
    const results = await runNamedScenarios(suite, `${proxy.url}/mcp`, SCENARIOS, 60_000);
    const rows = SCENARIOS.map((s) => {
      const r = results.get(s);
      return `| ${s} | ${r ? `${r.failed === 0 ? 'pass' : 'FAIL'} ${r.passed}/${r.passed + r.failed}` : 'not run'} |`;
    });
    console.log(['\n| scenario | through the proxy |', '| --- | --- |', ...rows].join('\n'));
    expect([...results.keys()].sort()).toEqual([...SCENARIOS].sort());
    const failing = [...results].filter(([, r]) => r.failed > 0).map(([s]) => s);
    expect({ failing }).toEqual({ failing: [] });
    const empty = [...results].filter(([s, r]) => r.passed === 0 && s !== 'tasks-status-notifications');
    expect(empty).toEqual([]);
  }, 600_000);
});
