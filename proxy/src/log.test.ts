import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

describe('createLogger', () => {
  it('writes text lines for terminals: time, level, message, key=value', () => {
    const lines: string[] = [];
    createLogger('info', (l) => lines.push(l))
      .with({ backend: 'weather' })
      .warn('backend failed, retrying', { error: 'spawn ENOENT', retryInMs: 500 });
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z WARN {2}backend failed, retrying backend=weather error="spawn ENOENT" retryInMs=500$/,
    );
  });

  it('writes one JSON object a line with time, level, msg and the fields', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l), { format: 'json' }).with({ backend: 'calc' });
    log.debug('relay failed', { request: 7, method: 'tools/call', outcome: 'timeout', session: undefined });
    log.info('multi\nline "stderr"', { msg: 'a field named like the envelope', ok: true });
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) as string,
      level: 'debug',
      msg: 'relay failed',
      backend: 'calc',
      request: 7,
      method: 'tools/call',
      outcome: 'timeout',
    });
    expect(second).toMatchObject({
      level: 'info',
      msg: 'multi\nline "stderr"',
      'field.msg': 'a field named like the envelope',
      ok: true,
    });
  });

  it('drops lines below the level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l), { format: 'json' });
    log.info('quiet');
    log.with({ a: 1 }).error('loud');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['loud']);
  });
});
