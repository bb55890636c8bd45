import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SealedHandshake } from './seal.js';
import { createSessionSeal, loadSessionSeal, parseSessionKeys, SessionKeyError } from './seal.js';

const handshake: SealedHandshake = {
  protocolVersion: '2025-11-25',
  capabilities: { sampling: {}, roots: { listChanged: true } },
  clientInfo: { name: 'ide', version: '1.2.3' },
};

const key = (): Buffer => randomBytes(32);

/** `id` with the character at `index` replaced by another base64url character. */
function withCharChanged(id: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const current = id[index] ?? 'A';
  const next = alphabet[(alphabet.indexOf(current) + 1) % alphabet.length] ?? 'A';
  return id.slice(0, index) + next + id.slice(index + 1);
}

describe('sealed session ids', () => {
  it('round-trips the handshake and is a valid header value', () => {
    const seal = createSessionSeal([key()]);
    const id = seal.seal(handshake);
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(seal.open(id)).toEqual({ ok: true, handshake });
  });

  it('seals the same handshake to a different id every time (random nonce)', () => {
    const seal = createSessionSeal([key()]);
    expect(seal.seal(handshake)).not.toBe(seal.seal(handshake));
  });

  it('refuses an id with any one byte changed', () => {
    const seal = createSessionSeal([key()]);
    const bytes = Buffer.from(seal.seal(handshake), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      const result = seal.open(tampered.toString('base64url'));
      expect(result.ok, `byte ${i} changed`).toBe(false);
    }
  });

  it('refuses an id with any one character changed, including non-canonical spellings', () => {
    const seal = createSessionSeal([key()]);
    const id = seal.seal(handshake);
    for (let i = 0; i < id.length; i++) {
      expect(seal.open(withCharChanged(id, i)).ok, `character ${i} changed`).toBe(false);
    }
  });

  it('refuses an id sealed with another key', () => {
    const ours = createSessionSeal([key()]);
    const theirs = createSessionSeal([key()]);
    expect(ours.open(theirs.seal(handshake))).toEqual({ ok: false, reason: 'auth_failed' });
  });

  it('refuses truncated ids', () => {
    const seal = createSessionSeal([key()]);
    const id = seal.seal(handshake);
    expect(seal.open(id.slice(0, -1))).toMatchObject({ ok: false });
    const bytes = Buffer.from(id, 'base64url');
    for (const drop of [1, 3, 16]) {
      const shorter = bytes.subarray(0, bytes.length - drop).toString('base64url');
      expect(seal.open(shorter), `${drop} bytes dropped`).toEqual({ ok: false, reason: 'auth_failed' });
    }
    expect(seal.open(id.slice(0, 20))).toEqual({ ok: false, reason: 'malformed' });
    expect(seal.open('')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses another format version and ids that are not sealed at all', () => {
    const seal = createSessionSeal([key()]);
    const bytes = Buffer.from(seal.seal(handshake), 'base64url');
    bytes[0] = 0x02;
    expect(seal.open(bytes.toString('base64url'))).toEqual({ ok: false, reason: 'malformed' });
    expect(seal.open('6f1c0a52-6a0e-4a8e-9d43-3f1c5d1f2b7e')).toEqual({ ok: false, reason: 'malformed' });
    expect(seal.open('not base64url!')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('seals with the first key and opens with every key (rotation)', () => {
    const [oldKey, newKey] = [key(), key()];
    const before = createSessionSeal([oldKey]);
    const during = createSessionSeal([newKey, oldKey]);
    const after = createSessionSeal([newKey]);
    const oldId = before.seal(handshake);
    expect(during.open(oldId).ok).toBe(true);
    const newId = during.seal(handshake);
    expect(after.open(newId).ok).toBe(true);
    expect(before.open(newId).ok).toBe(false);
    expect(after.open(oldId).ok).toBe(false);
  });
});

describe('the session key file', () => {
  const path = '/run/secrets/session-key';

  it('reads base64 and base64url keys, one per line, blank lines ignored', () => {
    const [a, b] = [key(), randomBytes(64)];
    const text = `${a.toString('base64')}\n\n${b.toString('base64url')}\r\n`;
    expect(parseSessionKeys(Buffer.from(text), path)).toEqual([a, b]);
  });

  it('reads a file that is not base64 text as one raw key, minus a trailing newline', () => {
    const raw = Buffer.concat([Buffer.from([0xff, 0x00]), randomBytes(40)]);
    expect(parseSessionKeys(Buffer.concat([raw, Buffer.from('\n')]), path)).toEqual([raw]);
    const passphrase = 'a passphrase with spaces, long enough to be a key!';
    expect(parseSessionKeys(Buffer.from(`${passphrase}\n`), path)).toEqual([Buffer.from(passphrase)]);
  });

  it('refuses short or empty keys with a message naming the file and what is expected', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from(''), /session-key: the file is empty/],
      [Buffer.from('\n  \n'), /the file is empty/],
      [Buffer.from(randomBytes(16).toString('base64')), /line 1 decodes to 16 bytes/],
      [
        Buffer.from(`${key().toString('base64')}\n${randomBytes(8).toString('base64')}`),
        /line 2 decodes to 8 bytes/,
      ],
      [Buffer.from('short passphrase!'), /holds 17 bytes, not base64 text/],
    ];
    for (const [content, message] of cases) {
      const attempt = (): unknown => parseSessionKeys(content, path);
      expect(attempt).toThrow(SessionKeyError);
      expect(attempt).toThrow(message);
      expect(attempt).toThrow(`--session-key-file ${path}`);
      expect(attempt).toThrow(/openssl rand -base64 32/);
    }
  });

  it('loads a key file, and names the file it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-mcp-seal-'));
    const file = join(dir, 'key');
    writeFileSync(file, `${key().toString('base64')}\n`);
    const seal = await loadSessionSeal(file);
    expect(seal.open(seal.seal(handshake)).ok).toBe(true);
    await expect(loadSessionSeal(join(dir, 'missing'))).rejects.toThrow(
      new RegExp(`--session-key-file ${join(dir, 'missing')}: cannot read it: .*ENOENT`),
    );
  });
});
