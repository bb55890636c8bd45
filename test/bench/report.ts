// The printed result: two tables (SDK-client latency, raw capacity) and the targets as PASS/MISS
// lines. Targets are reported, not asserted: a slow run is information, only a broken run fails.
import type { CapacityResult } from './capacity.js';
import type { RunResult } from './worker-protocol.js';

export type LatencySection = 'stdio' | 'http';

export interface LatencyOutcome {
  section: LatencySection;
  scenario: string;
  /** The row the others in its section are compared with. */
  baseline: boolean;
  runs?: RunResult[];
  error?: string;
}

export interface CapacityOutcome {
  scenario: string;
  request: string;
  baseline: boolean;
  /** The plain node:http echo: the floor every other row is also held against. */
  floor?: boolean;
  result?: CapacityResult;
  error?: string;
}

const ms = (value: number): string => value.toFixed(2);
const rate = (value: number): string => Math.round(value).toString();
const ratio = (value: number): string => `×${value.toFixed(2)}`;
const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

function runAt(outcome: LatencyOutcome | undefined, concurrency: number): RunResult | undefined {
  return outcome?.runs?.find((run) => run.concurrency === concurrency);
}

function baselineOf<T extends { baseline: boolean }>(outcomes: T[], pick: (o: T) => boolean): T | undefined {
  return outcomes.find((o) => o.baseline && pick(o));
}

function latencyComparison(section: LatencySection, run: RunResult, base: RunResult): string {
  const throughput = `calls/s ${ratio(run.callsPerSec / base.callsPerSec)}`;
  // On stdio the target is an absolute added latency; over HTTP it is "no slower than the bridge".
  if (section === 'stdio') return `Δp50 ${signed(run.p50 - base.p50)} ms, ${throughput}`;
  return `p50 ${ratio(run.p50 / base.p50)}, ${throughput}`;
}

export function latencyTable(outcomes: LatencyOutcome[], concurrencies: number[]): string {
  const rows: string[][] = [];
  for (const outcome of outcomes) {
    if (!outcome.runs) {
      rows.push([outcome.scenario, '-', '-', '-', '-', 'FAILED (see below)']);
      continue;
    }
    const base = baselineOf(outcomes, (o) => o.section === outcome.section);
    for (const c of concurrencies) {
      const run = runAt(outcome, c);
      if (!run) continue;
      const baseRun = runAt(base, c);
      const versus = outcome.baseline
        ? 'baseline'
        : baseRun
          ? latencyComparison(outcome.section, run, baseRun)
          : 'no baseline';
      rows.push([outcome.scenario, String(c), ms(run.p50), ms(run.p99), rate(run.callsPerSec), versus]);
    }
  }
  return table(['scenario', 'c', 'p50 ms', 'p99 ms', 'calls/s', 'vs baseline'], rows);
}

export function capacityTable(outcomes: CapacityOutcome[], connections: number): string {
  const base = baselineOf(outcomes, () => true)?.result;
  const floor = outcomes.find((o) => o.floor)?.result;
  const rows = outcomes.map((o) => {
    const r = o.result;
    if (!r) return [o.scenario, o.request, String(connections), '-', '-', '-', '-', 'FAILED (see below)', ''];
    const versus = o.baseline
      ? 'baseline'
      : base
        ? `req/s ${ratio(r.requestsPerSec / base.requestsPerSec)}`
        : '';
    const failures = `${r.non2xx}/${r.errors + r.timeouts}`;
    return [
      o.scenario,
      o.request,
      String(connections),
      rate(r.requestsPerSec),
      String(r.p50),
      String(r.p99),
      failures,
      o.floor ? '' : versus,
      o.floor ? 'floor' : floor ? `1/${(floor.requestsPerSec / r.requestsPerSec).toFixed(1)}` : '',
    ];
  });
  const header = [
    'scenario',
    'request',
    'conns',
    'req/s',
    'p50 ms',
    'p99 ms',
    'non-2xx/err',
    'vs baseline',
    'of floor',
  ];
  return table(header, rows);
}

function check(pass: boolean, text: string): string {
  return `${pass ? 'PASS' : 'MISS'} ${text}`;
}

export function targetChecks(outcomes: LatencyOutcome[], concurrencies: number[]): string[] {
  const find = (scenario: string) => outcomes.find((o) => o.scenario === scenario);
  const lines: string[] = [];
  const pairs: [LatencySection, string, string][] = [
    ['stdio', 'stdio direct', 'stdio via proxy'],
    ['http', 'http supergateway', 'http proxy'],
  ];
  for (const [section, baseName, proxyName] of pairs) {
    const base = find(baseName);
    const proxy = find(proxyName);
    if (!base || !proxy) continue;
    for (const c of concurrencies) {
      const b = runAt(base, c);
      const p = runAt(proxy, c);
      if (!b || !p) {
        lines.push(`N/A  ${section} c=${c}: not measured (see failures below)`);
        continue;
      }
      if (section === 'stdio') {
        const added = p.p50 - b.p50;
        const kept = p.callsPerSec / b.callsPerSec;
        lines.push(
          check(added <= 0.1, `stdio c=${c}: proxy adds ${signed(added)} ms at p50 (target ≤ +0.10 ms)`),
        );
        lines.push(
          check(kept >= 0.5, `stdio c=${c}: proxy keeps ${ratio(kept)} of direct calls/s (target ≥ ×0.50)`),
        );
      } else {
        lines.push(
          check(
            p.p50 <= b.p50,
            `http c=${c}: proxy p50 ${ms(p.p50)} ms vs supergateway ${ms(b.p50)} ms (target ≤)`,
          ),
        );
        lines.push(
          check(
            p.callsPerSec >= b.callsPerSec,
            `http c=${c}: proxy ${rate(p.callsPerSec)} calls/s vs supergateway ${rate(b.callsPerSec)} (target ≥)`,
          ),
        );
      }
    }
  }
  return lines;
}

/** Issue #11: the 2026-07-28 stateless path at raw load, against 10,000 req/s and 1/7 of the floor. */
export function capacityChecks(outcomes: CapacityOutcome[]): string[] {
  const floor = outcomes.find((o) => o.floor)?.result;
  const modern = outcomes.find((o) => o.scenario === 'proxy' && o.request.startsWith('2026'))?.result;
  const bridge = outcomes.find((o) => o.baseline)?.result;
  const session = outcomes.find((o) => o.scenario === 'proxy' && o.request.startsWith('2025'))?.result;
  const lines: string[] = [];
  if (modern) {
    lines.push(
      check(
        modern.requestsPerSec >= 10_000,
        `capacity 2026 stateless: ${rate(modern.requestsPerSec)} req/s (target ≥ 10000)`,
      ),
    );
    if (floor) {
      const share = modern.requestsPerSec / floor.requestsPerSec;
      lines.push(
        check(
          share >= 1 / 7,
          `capacity 2026 stateless: 1/${(1 / share).toFixed(1)} of the node:http floor (${rate(floor.requestsPerSec)} req/s; target ≥ 1/7)`,
        ),
      );
    }
  }
  if (session && bridge) {
    lines.push(
      `info capacity 2025 session: proxy ${ratio(session.requestsPerSec / bridge.requestsPerSec)} supergateway's req/s`,
    );
  }
  return lines;
}

/** Issue #11: 2025-era sessions with the SDK client, against twice supergateway's throughput and half its p50. */
export function sessionChecks(outcomes: LatencyOutcome[]): string[] {
  const base = outcomes.find((o) => o.scenario === 'http supergateway');
  const proxy = outcomes.find((o) => o.scenario === 'http proxy');
  const lines: string[] = [];
  const b16 = runAt(base, 16);
  const p16 = runAt(proxy, 16);
  if (b16 && p16) {
    const times = p16.callsPerSec / b16.callsPerSec;
    lines.push(check(times >= 2, `http c=16: proxy ${ratio(times)} supergateway's calls/s (target ≥ ×2.00)`));
  }
  const b1 = runAt(base, 1);
  const p1 = runAt(proxy, 1);
  if (b1 && p1) {
    const share = p1.p50 / b1.p50;
    lines.push(check(share <= 0.5, `http c=1: proxy p50 ${ratio(share)} supergateway's (target ≤ ×0.50)`));
  }
  // The client's own cost bounds every server it talks to: the floor row is the best any could do.
  const floor = outcomes.find((o) => o.scenario === 'http node:http floor');
  const f16 = runAt(floor, 16);
  const f1 = runAt(floor, 1);
  if (b16 && f16 && b1 && f1) {
    lines.push(
      `info http, same client against the node:http floor (no MCP, no backend): ${ratio(f16.callsPerSec / b16.callsPerSec)} supergateway's calls/s at c=16, p50 ${ratio(f1.p50 / b1.p50)} of its p50 at c=1`,
    );
  }
  return lines;
}
