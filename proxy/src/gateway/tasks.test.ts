import { describe, expect, it } from 'vitest';
import { createTaskTable } from './tasks.js';

const task = (taskId: string, ttl: number | null = 60_000) => ({
  taskId,
  status: 'working',
  createdAt: '2026-12-03T00:00:00Z',
  lastUpdatedAt: '2026-12-03T00:00:00Z',
  ttl,
});

function table(maxPerOwner = 100) {
  let now = 1_000;
  const tasks = createTaskTable({ maxTtlMs: 10_000, maxPerOwner, now: () => now });
  return { tasks, advance: (ms: number) => (now += ms) };
}

describe('task table', () => {
  it('mints unguessable ids and finds them only for their owner', () => {
    const { tasks } = table();
    const a = tasks.add('alice', 'jobs', undefined, task('1'));
    const b = tasks.add('bob', 'jobs', undefined, task('2'));
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.id).not.toBe(b.id);
    expect(tasks.get('alice', a.id)).toBe(a);
    expect(() => tasks.get('bob', a.id)).toThrow(`Task not found: "${a.id}"`);
    expect(() => tasks.get('bob', 'made-up')).toThrow('Task not found: "made-up"');
    expect(tasks.fromBackend('jobs', '2')).toBe(b);
  });

  it('drops a task when its ttl ends, and caps an unlimited one', () => {
    const { tasks, advance } = table();
    const short = tasks.add('alice', 'jobs', undefined, task('1', 500));
    const unlimited = tasks.add('alice', 'jobs', undefined, task('2', null));
    advance(501);
    expect(() => tasks.get('alice', short.id)).toThrow('Task not found');
    expect(tasks.get('alice', unlimited.id)).toBe(unlimited);
    advance(10_000);
    expect(() => tasks.get('alice', unlimited.id)).toThrow('Task not found');
    expect(tasks.size).toBe(0);
  });

  it('pages one owner’s tasks in creation order and rejects cursors it never issued', () => {
    const { tasks } = table();
    const ids = Array.from({ length: 5 }, (_, i) => tasks.add('alice', 'jobs', undefined, task(`a${i}`)).id);
    tasks.add('bob', 'jobs', undefined, task('b'));
    const first = tasks.page('alice', undefined, 2);
    const second = tasks.page('alice', first.nextCursor, 2);
    const third = tasks.page('alice', second.nextCursor, 2);
    expect([...first.entries, ...second.entries, ...third.entries].map((e) => e.id)).toEqual(ids);
    expect(third.nextCursor).toBeUndefined();
    expect(() => tasks.page('alice', 'x', 2)).toThrow('params.cursor "x" was not issued by this proxy');
  });

  it('forgets the oldest tasks of an owner past the cap, and all of them with the owner', () => {
    const { tasks } = table(2);
    const [first, second, third] = ['1', '2', '3'].map((id) =>
      tasks.add('alice', 'jobs', undefined, task(id)),
    );
    expect(() => tasks.get('alice', first!.id)).toThrow('Task not found');
    expect(tasks.get('alice', third!.id)).toBe(third);
    tasks.dropOwner('alice');
    expect(() => tasks.get('alice', second!.id)).toThrow('Task not found');
  });

  it('marks lost the tasks of a backend that is no longer on their connection', () => {
    const { tasks } = table();
    const connection = {};
    const kept = tasks.add('alice', 'jobs', connection, task('1'));
    const other = tasks.add('alice', 'other', connection, task('2'));
    tasks.markLost((backend) => (backend === 'jobs' ? { connection } : { reason: `${backend} is gone` }));
    expect(kept.lost).toBeUndefined();
    expect(other.lost).toBe('other is gone');
    tasks.markLost(() => ({ connection: {} }));
    expect(kept.lost).toContain('reconnected');
  });
});
