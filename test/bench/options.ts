// Run sizes. Defaults give stable figures in a few minutes; --quick is a smoke run. Each knob can be
// set by a flag or an environment variable (flags win), so CI and humans can size runs without editing.
import { parseArgs } from 'node:util';

export const SECTIONS = ['stdio', 'http', 'capacity', 'churn'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  callsC1: number;
  callsC16: number;
  warmup: number;
  capacitySeconds: number;
  capacityConnections: number;
  /** Latency scenarios run this many times, interleaved; medians are reported. */
  rounds: number;
  sections: Set<Section>;
  /** Stdio backends the churn scenario adds and removes. */
  churnBackends: number;
}

const FULL = {
  callsC1: 2_000,
  callsC16: 8_000,
  warmup: 500,
  capacitySeconds: 10,
  capacityConnections: 16,
  rounds: 1,
  churnBackends: 100,
};
const QUICK = {
  callsC1: 300,
  callsC16: 1_200,
  warmup: 100,
  capacitySeconds: 3,
  capacityConnections: 16,
  rounds: 1,
  churnBackends: 20,
};

export const USAGE = `usage: npm run bench -- [--quick] [--only=stdio,http,capacity,churn]
  [--calls-c1=N] [--calls-c16=N] [--warmup=N] [--duration=SECONDS] [--connections=N] [--rounds=N]
  [--churn-backends=N]
environment: BENCH_QUICK=1 BENCH_ONLY BENCH_CALLS_C1 BENCH_CALLS_C16 BENCH_WARMUP BENCH_DURATION BENCH_CONNECTIONS BENCH_ROUNDS BENCH_CHURN_BACKENDS`;

function count(name: string, flag: string | undefined, env: string | undefined, fallback: number): number {
  const raw = flag ?? env;
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function sections(raw: string | undefined): Set<Section> {
  if (!raw) return new Set(SECTIONS);
  const picked = raw.split(',').map((s) => s.trim());
  for (const section of picked) {
    if (!(SECTIONS as readonly string[]).includes(section)) {
      throw new Error(`--only: unknown section "${section}" (known: ${SECTIONS.join(', ')})`);
    }
  }
  return new Set(picked as Section[]);
}

/** Returns undefined when --help was asked for. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      'calls-c1': { type: 'string' },
      'calls-c16': { type: 'string' },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      'churn-backends': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const base = values.quick || env.BENCH_QUICK === '1' ? QUICK : FULL;
  return {
    callsC1: count('--calls-c1', values['calls-c1'], env.BENCH_CALLS_C1, base.callsC1),
    callsC16: count('--calls-c16', values['calls-c16'], env.BENCH_CALLS_C16, base.callsC16),
    warmup: count('--warmup', values.warmup, env.BENCH_WARMUP, base.warmup),
    capacitySeconds: count('--duration', values.duration, env.BENCH_DURATION, base.capacitySeconds),
    capacityConnections: count(
      '--connections',
      values.connections,
      env.BENCH_CONNECTIONS,
      base.capacityConnections,
    ),
    rounds: count('--rounds', values.rounds, env.BENCH_ROUNDS, base.rounds),
    sections: sections(values.only ?? env.BENCH_ONLY),
    churnBackends: count(
      '--churn-backends',
      values['churn-backends'],
      env.BENCH_CHURN_BACKENDS,
      base.churnBackends,
    ),
  };
}
