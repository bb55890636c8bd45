import { Server } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';

import type { Caller } from './sessions.js';
import { SessionTable, tracked } from './sessions.js';

const server = (): Server => new Server({ name: 'proxy', version: '1.0.0' }, { capabilities: {} });

/** Runs `check` while `who` has a call in flight to `backend`. */
async function during(who: Parameters<typeof tracked>[0], backend: string, check: () => Promise<void>) {
  await tracked(who, backend, check);
}

describe('who answers a backend’s request', () => {
  it('the call it came with, whoever else calls the backend; nobody once that session is gone', async () => {
    const table = new SessionTable();
    const a = table.add('streamable-http', server());
    const b = table.add('streamable-http', server());
    await during(a, 'x', () =>
      during(b, 'x', async () => {
        expect(table.answererFor('x', a)).toEqual({ to: a });
        expect(table.answererFor('x', b)).toEqual({ to: b });
      }),
    );
    table.delete(a);
    expect(table.answererFor('x', a)).toEqual({ gone: true });
    // An object the table never held (another gateway's session, say) is no answerer either.
    expect(table.answererFor('x', { id: b.id })).toEqual({ gone: true });
  });

  it('without a link: the only session calling the backend, none, or a refusal naming how many', async () => {
    const table = new SessionTable();
    const a = table.add('stdio', server());
    const b = table.add('streamable-http', server());
    const caller: Caller = { id: 'stateless', inFlight: new Map(), ask: async () => ({}) };
    expect(table.answererFor('x', undefined)).toEqual({ none: true });
    await during(a, 'x', async () => {
      // A call to another backend does not count.
      await during(b, 'y', async () => expect(table.answererFor('x', undefined)).toEqual({ to: a }));
      await table.withCaller(caller, () =>
        during(caller, 'x', async () => {
          expect(table.answererFor('x', undefined)).toEqual({ ambiguous: 2 });
          expect(table.answererFor('x', caller)).toEqual({ to: caller });
        }),
      );
    });
    // Two calls of one session are still one session.
    await during(b, 'x', () =>
      during(b, 'x', async () => expect(table.answererFor('x', undefined)).toEqual({ to: b })),
    );
    expect(table.answererFor('x', caller)).toEqual({ gone: true });
  });
});
