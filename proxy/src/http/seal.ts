import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { errorMessage } from '../log.js';

/**
 * Sealed 2025-era session ids: the id a client gets in `Mcp-Session-Id` is the session's
 * handshake, encrypted and authenticated with a key every replica shares, so a replica that
 * never saw the session can open the id and serve it. Format (base64url, a valid header value):
 *
 *     version (1 byte, 0x01) ‖ nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ tag (16 bytes)
 *
 * The version byte is authenticated too (additional data), so it cannot be swapped.
 */

/** What a replica needs to serve a session it has never seen: the client's own `initialize`. */
export const SealedHandshakeSchema = z.object({
  /** The protocol version the client asked for (replayed, the server negotiates it again). */
  protocolVersion: z.string().min(1),
  capabilities: z.record(z.string(), z.unknown()),
  clientInfo: z.object({ name: z.string(), version: z.string(), title: z.string().optional() }),
  /** With OAuth: the issuer and subject the session belongs to (see oauth.ts `Principal.key`). */
  principal: z.string().optional(),
});
export type SealedHandshake = z.infer<typeof SealedHandshakeSchema>;

/** Why an id did not open: not in the sealed format at all, or not sealed by any of our keys. */
export type OpenFailure = 'malformed' | 'auth_failed';

export type OpenResult = { ok: true; handshake: SealedHandshake } | { ok: false; reason: OpenFailure };

export interface SessionSeal {
  /** How many keys open ids (the first also seals). */
  readonly keys: number;
  seal(handshake: SealedHandshake): string;
  open(id: string): OpenResult;
}

export const SEAL_VERSION = 0x01;
/** Less key material than this is refused: the key is the only thing guarding every session. */
export const MIN_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MIN_SEALED_BYTES = 1 + NONCE_BYTES + TAG_BYTES;
const HKDF_INFO = 'multi-mcp session id v1';
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64_LINE = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

export class SessionKeyError extends Error {
  override readonly name = 'SessionKeyError';
}

/**
 * Builds a seal from one or more keys: the first seals, every one opens (so a key can be
 * rotated without ending live sessions). Each key's material is stretched with HKDF-SHA256 into
 * the AES-256 key, so material longer than 32 bytes is used in full.
 */
export function createSessionSeal(keys: readonly Buffer[]): SessionSeal {
  if (keys.length === 0) throw new SessionKeyError('no session key given');
  const derived = keys.map((material) => {
    if (material.length < MIN_KEY_BYTES) {
      throw new SessionKeyError(
        `a session key needs at least ${MIN_KEY_BYTES} bytes, got ${material.length}`,
      );
    }
    return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), HKDF_INFO, 32));
  });
  const sealing = derived[0] as Buffer;
  const aad = Buffer.from([SEAL_VERSION]);

  const seal = (handshake: SealedHandshake): string => {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', sealing, nonce);
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(JSON.stringify(handshake), 'utf8'), cipher.final()]);
    return Buffer.concat([aad, nonce, body, cipher.getAuthTag()]).toString('base64url');
  };

  const decrypt = (key: Buffer, sealed: Buffer): Buffer | undefined => {
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      return undefined;
    }
  };

  const open = (id: string): OpenResult => {
    if (!BASE64URL.test(id)) return { ok: false, reason: 'malformed' };
    const sealed = Buffer.from(id, 'base64url');
    // Non-canonical spellings decode to the same bytes: accept only the one this seal writes,
    // so changing any character of an id is a different (and refused) id.
    if (sealed.toString('base64url') !== id) return { ok: false, reason: 'malformed' };
    if (sealed.length < MIN_SEALED_BYTES || sealed[0] !== SEAL_VERSION)
      return { ok: false, reason: 'malformed' };
    for (const key of derived) {
      const plain = decrypt(key, sealed);
      if (!plain) continue;
      try {
        const parsed = SealedHandshakeSchema.safeParse(JSON.parse(plain.toString('utf8')));
        if (parsed.success) return { ok: true, handshake: parsed.data };
      } catch {
        // Authentic but unreadable: written by an incompatible version; treated like a foreign key.
      }
      return { ok: false, reason: 'auth_failed' };
    }
    return { ok: false, reason: 'auth_failed' };
  };

  return { keys: derived.length, seal, open };
}

/**
 * The session key file's format: either text with one base64 (or base64url) key per line —
 * what `openssl rand -base64 32` prints and what a Kubernetes Secret mounts — the first line
 * sealing and every line opening; or, when the file is not such text, its bytes as one raw key
 * (one trailing newline ignored). Every key must carry at least 32 bytes.
 */
export function parseSessionKeys(content: Buffer, path: string): Buffer[] {
  const where = `--session-key-file ${path}`;
  const hint =
    'expected one base64 key of at least 32 bytes per line (e.g. the output of `openssl rand -base64 32`), or at least 32 raw bytes';
  const text = content.toString('utf8');
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  const keyLines = lines.filter((line) => line.length > 0);
  if (keyLines.length === 0) throw new SessionKeyError(`${where}: the file is empty; ${hint}`);
  if (keyLines.every((line) => BASE64_LINE.test(line))) {
    return lines.flatMap((line, index) => {
      if (line.length === 0) return [];
      const key = Buffer.from(line.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (key.length < MIN_KEY_BYTES) {
        throw new SessionKeyError(
          `${where}: line ${index + 1} decodes to ${key.length} bytes of key material; ${hint}`,
        );
      }
      return [key];
    });
  }
  const raw = content.subarray(0, content.length - trailingNewline(content));
  if (raw.length < MIN_KEY_BYTES) {
    throw new SessionKeyError(`${where}: the file holds ${raw.length} bytes, not base64 text; ${hint}`);
  }
  return [raw];
}

function trailingNewline(content: Buffer): number {
  if (content.at(-1) !== 0x0a) return 0;
  return content.at(-2) === 0x0d ? 2 : 1;
}

/** Reads and validates the key file once (a changed file takes effect at the next start). */
export async function loadSessionSeal(path: string): Promise<SessionSeal> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (error) {
    throw new SessionKeyError(`--session-key-file ${path}: cannot read it: ${errorMessage(error)}`);
  }
  return createSessionSeal(parseSessionKeys(content, path));
}
