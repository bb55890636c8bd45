import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildContext, dockerignore, parseCopy, parseDockerfile, replay } from './support/dockerfile.js';
import type { Replay } from './support/dockerfile.js';
import { repoRoot } from './support/paths.js';

// No Docker engine here: the images are checked by construction. The build context is what
// .dockerignore leaves; every stage is replayed in a directory standing for /app, with the real
// npm ci / npm run build of its RUN lines; the final stage's entrypoint then starts the CLI.
const context = mkdtempSync(join(tmpdir(), 'multi-mcp-context-'));
for (const file of buildContext(repoRoot)) {
  mkdirSync(dirname(join(context, file)), { recursive: true });
  cpSync(join(repoRoot, file), join(context, file));
}
const replays: Replay[] = [];
// The replays hold whole node_modules trees: removed asynchronously (a synchronous rm of them
// blocks the worker long enough for vitest's own RPC to time out on a loaded machine).
afterAll(async () => {
  const dirs = [context, ...replays.flatMap((r) => [...r.dirs.values()])];
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}, 180_000);

const dockerfile = (name: string) => parseDockerfile(readFileSync(join(repoRoot, name), 'utf8'));
const node = (cwd: string, args: string[]) => execFileSync(process.execPath, args, { cwd, encoding: 'utf8' });

describe('the build context', () => {
  it('.dockerignore keeps sources and manifests, drops tests, node_modules and build output', () => {
    const ignored = dockerignore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
    expect(ignored('proxy/node_modules/x/index.js')).toBe(true);
    expect(ignored('proxy/dist/cli.js')).toBe(true);
    expect(ignored('proxy/src/http/server.test.ts')).toBe(true);
    expect(ignored('test/e2e/images.test.ts')).toBe(true);
    expect(ignored('proxy/src/cli.ts')).toBe(false);
    const files = buildContext(repoRoot);
    for (const needed of [
      'package-lock.json',
      'tsconfig.base.json',
      'proxy/tsconfig.json',
      'proxy/src/cli.ts',
      'operator/src/main.ts',
    ])
      expect(files).toContain(needed);
    expect(files.some((f) => f.includes('node_modules') || f.startsWith('test/'))).toBe(false);
  });

  it.each(['Dockerfile.proxy', 'Dockerfile.operator'])(
    'every COPY source of %s is in the context or an earlier stage',
    (name) => {
      const stages = dockerfile(name);
      for (const stage of stages)
        for (const { args } of stage.instructions.filter((i) => i.op === 'COPY')) {
          const { from, sources } = parseCopy(args);
          if (from !== undefined) {
            expect(
              stages.map((s) => s.name),
              `${name}: COPY --from=${from}`,
            ).toContain(from);
            continue;
          }
          for (const source of sources)
            expect(existsSync(join(context, source)), `${name}: COPY ${source}`).toBe(true);
        }
    },
  );
});

describe.each([
  { file: 'Dockerfile.proxy', target: undefined, entry: 'proxy/dist/cli.js', cli: 'multi-mcp' },
  {
    file: 'Dockerfile.operator',
    target: undefined,
    entry: 'operator/dist/main.js',
    cli: 'multi-mcp-operator',
  },
])('$file', ({ file, target, entry, cli }) => {
  it(
    'replays to a non-root image whose tini-wrapped exec-form entrypoint starts the CLI',
    { timeout: 240_000 },
    async () => {
      const stages = dockerfile(file);
      const r = await replay(stages, context, target);
      replays.push(r);
      const final = stages.at(-1)?.name ?? '';
      expect(stages.find((s) => s.name === 'build')?.base).toBe('${NODE_IMAGE}');
      expect(readFileSync(join(repoRoot, file), 'utf8')).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
      expect(r.user.get(final)).toBe('65532:65532');
      // tini is installed by an apt-get line (not run here) and is PID 1.
      expect(r.skipped.some((s) => /apt-get install .*tini=/.test(s))).toBe(true);
      const entrypoint = r.entrypoint.get(final) ?? [];
      expect(entrypoint.slice(0, 4)).toEqual(['/usr/bin/tini', '--', 'node', entry]);
      const app = r.dirs.get(final) ?? '';
      // Production dependencies only: no TypeScript, no vitest in the image.
      expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
      expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false);
      expect(existsSync(join(app, 'proxy/src'))).toBe(false);
      const help = node(app, [entry, '--help']);
      expect(help).toContain(`Usage: ${cli}`);
      expect(node(app, [entry, '--version']).trim()).toBe(
        (JSON.parse(readFileSync(join(repoRoot, 'proxy/package.json'), 'utf8')) as { version: string })
          .version,
      );
      if (file === 'Dockerfile.proxy') {
        // The image's CMD listens where the chart's Services point.
        const cmd = r.cmd.get(final) ?? [];
        const chart = readFileSync(join(repoRoot, 'charts/multi-mcp/values.yaml'), 'utf8');
        const values = parseAllDocuments(chart)[0]?.toJS() as { proxy: { port: number; adminPort: number } };
        expect(cmd.join(' ')).toContain(`--port ${values.proxy.port} --admin-port ${values.proxy.adminPort}`);
      }
    },
  );
});
