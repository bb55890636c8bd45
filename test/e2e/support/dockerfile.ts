/**
 * Just enough of a Dockerfile builder to check the images without a Docker engine: the build
 * context as .dockerignore leaves it, and each stage replayed in a directory standing for /app —
 * COPY (from the context or an earlier stage) and the `npm …` parts of RUN, for real. What needs
 * root or a base image (apt-get, useradd, external `COPY --from` images) is recorded, not run.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Stages with their instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + (lines[++i] ?? '');
    const [, op = '', args = ''] = /^\s*(\w+)\s+(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, base = '', name = `stage${stages.length}`] =
        /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args.trim()) ?? [];
      stages.push({ name, base, instructions: [] });
    } else if (upper !== 'ARG' || stages.length > 0) {
      stages.at(-1)?.instructions.push({ op: upper, args: args.trim(), line: start + 1 });
    }
  }
  return stages;
}

/** `COPY [--from=x] a b dest` → { from, sources, dest }; exec-form JSON arrays too. */
export function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  const dest = paths.pop() ?? '';
  return { ...(from !== undefined && { from }), sources: paths, dest };
}

/** .dockerignore patterns (Go filepath.Match plus `**`), last match wins, `!` re-includes. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${source}$`) };
    });
  return (path: string) => {
    // A path is out when it or one of its parent directories is matched.
    const parts = path.split('/');
    let excluded = false;
    for (const rule of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (rule.re.test(parts.slice(0, n).join('/'))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

/** The build context: the checkout's files (tracked and untracked, not git-ignored) .dockerignore keeps. */
export function buildContext(repoRoot: string): string[] {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f && existsSync(join(repoRoot, f)));
  const ignored = dockerignore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
  return files.filter((f) => !ignored(f));
}

export interface Replay {
  /** Directory standing for /app of each replayed stage. */
  dirs: Map<string, string>;
  /** What was not run (needs root or an image). */
  skipped: string[];
  /** ENTRYPOINT and CMD of each stage (inherited from the base stage). */
  entrypoint: Map<string, string[]>;
  cmd: Map<string, string[]>;
  user: Map<string, string>;
  env: Map<string, Record<string, string>>;
}

/**
 * Replays `stages` up to and including `target` (default: the last, as `docker build` does).
 * `context` is a directory holding exactly the build context.
 */
/** Stages already replayed (same base chain and instructions): both images share the build stage. */
const replayed = new Map<string, { dir: string; skipped: string[] }>();

export async function replay(stages: Stage[], context: string, target?: string): Promise<Replay> {
  const keys = new Map<string, string>();
  const out: Replay = {
    dirs: new Map(),
    skipped: [],
    entrypoint: new Map(),
    cmd: new Map(),
    user: new Map(),
    env: new Map(),
  };
  const wanted = target ?? stages.at(-1)?.name;
  for (const stage of stages) {
    const dir = mkdtempSync(join(tmpdir(), `multi-mcp-stage-${stage.name}-`));
    const parent = out.dirs.get(stage.base);
    for (const map of [out.entrypoint, out.cmd, out.user, out.env] as Map<string, unknown>[]) {
      if (map.has(stage.base)) map.set(stage.name, map.get(stage.base));
    }
    // An external image used only as a COPY source (FROM uv AS uv): nothing to replay.
    const external = !parent && stage.instructions.length === 0;
    if (!external) out.dirs.set(stage.name, dir);
    const env: Record<string, string> = { ...out.env.get(stage.name) };
    out.env.set(stage.name, env);
    const key = JSON.stringify([
      keys.get(stage.base) ?? stage.base,
      stage.instructions.map((i) => [i.op, i.args]),
    ]);
    keys.set(stage.name, key);
    const done = replayed.get(key);
    if (done) {
      await cp(done.dir, dir, { recursive: true, verbatimSymlinks: true });
      out.skipped.push(...done.skipped);
    } else {
      if (parent) await cp(parent, dir, { recursive: true, verbatimSymlinks: true });
      if (!external) replayed.set(key, { dir, skipped: [] });
    }
    for (const { op, args, line } of stage.instructions) {
      if (done && (op === 'COPY' || op === 'RUN')) continue;
      if (op === 'COPY') {
        const { from, sources, dest } = parseCopy(args);
        const root = from === undefined ? context : out.dirs.get(from);
        if (!root) {
          out.skipped.push(`${stage.name}:${line} COPY --from=${from} (an image)`);
          continue;
        }
        for (const source of sources) {
          const src = join(root, source.replace(/^\/app\/?/, ''));
          if (!existsSync(src))
            throw new Error(`${stage.name}:${line} COPY ${source}: not in the ${from ?? 'build context'}`);
          const target =
            dest.endsWith('/') || sources.length > 1
              ? join(dir, dest, statSync(src).isDirectory() ? '' : (source.split('/').pop() ?? ''))
              : join(dir, dest);
          await mkdir(dirname(target), { recursive: true });
          await cp(src, target, { recursive: true, verbatimSymlinks: true });
        }
      } else if (op === 'RUN') {
        for (const part of args.split('&&').map((p) => p.trim())) {
          const words = part.split(/\s+/);
          if (words[0] !== 'npm') {
            out.skipped.push(`${stage.name}:${line} ${part}`);
            replayed.get(key)?.skipped.push(`${stage.name}:${line} ${part}`);
            continue;
          }
          // The cache the checkout's npm ci filled: the registry only for what it lacks.
          const extra = words[1] === 'ci' ? ['--prefer-offline'] : [];
          const { NODE_ENV: _, ...inherited } = process.env;
          await execFileAsync('npm', [...words.slice(1), ...extra], {
            cwd: dir,
            maxBuffer: 64 * 1024 * 1024,
            env: { ...inherited, ...env },
          });
        }
      } else if (op === 'ENTRYPOINT' || op === 'CMD') {
        (op === 'ENTRYPOINT' ? out.entrypoint : out.cmd).set(stage.name, JSON.parse(args) as string[]);
      } else if (op === 'ENV') {
        for (const [, key = '', value = ''] of args.matchAll(/(\w+)=(\S+)/g)) env[key] = value;
      } else if (op === 'USER') {
        out.user.set(stage.name, args);
      }
    }
    if (stage.name === wanted) break;
  }
  return out;
}
