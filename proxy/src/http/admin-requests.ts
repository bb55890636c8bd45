import type { Request, Response } from 'express';
import { z } from 'zod';
import { VirtualServerOwnershipError } from '../catalog/virtual-servers.js';
import { ConfigError } from '../config/errors.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import { OwnershipError } from '../registry/registry.js';
import { sendError } from './respond.js';

/** Owner of what is added through the admin API when the caller names none. */
export const DEFAULT_API_OWNER = 'api';
export const OWNER_HEADER = 'x-multi-mcp-owner';

export const OwnerSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'an owner is 1–128 visible ASCII characters without spaces');

export const RevisionSchema = z.string().max(256, 'revision is at most 256 characters');

/** A request the admin API refuses: its status, and the issues naming fields and values. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: string[],
  ) {
    super(message);
  }
}

/** The `X-Multi-MCP-Owner` header, or the API's own owner when there is none. */
export function ownerFrom(req: Request): string {
  const header = req.headers[OWNER_HEADER];
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined) return DEFAULT_API_OWNER;
  const parsed = OwnerSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RequestError(400, `invalid X-Multi-MCP-Owner header ${JSON.stringify(raw)}`, [
      `X-Multi-MCP-Owner: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    ]);
  }
  return parsed.data;
}

/** The `{name}` of the route, checked against the naming rule of what it names (`noun`). */
export function nameFrom(req: Request, schema: z.ZodType<string>, noun: string): string {
  const name = String(req.params['name'] ?? '');
  const parsed = schema.safeParse(name);
  if (!parsed.success) {
    throw new RequestError(400, `invalid ${noun} name ${JSON.stringify(name)}`, [
      `name: ${parsed.error.issues[0]?.message ?? 'invalid'}, got ${JSON.stringify(name)}`,
    ]);
  }
  return parsed.data;
}

/** The parsed JSON body; `shape` tells a caller who sent none what to send. */
export function requireBody(req: Request, shape: string): unknown {
  if (req.body === undefined) {
    throw new RequestError(400, `missing JSON body: send ${shape} with Content-Type: application/json`);
  }
  return req.body;
}

/** Every admin error as JSON a person can act on; only the unexpected ones are logged. */
export function answerError(res: Response, error: unknown, log: Logger): void {
  if (error instanceof RequestError) return sendError(res, error.status, error.message, error.issues);
  if (error instanceof ConfigError) return sendError(res, 400, error.summary, error.issues);
  if (error instanceof OwnershipError || error instanceof VirtualServerOwnershipError) {
    return sendError(
      res,
      409,
      `${error.message}; change it where "${error.owner}" defines it, or use another name`,
    );
  }
  log.error('admin request failed', { [Field.error]: errorMessage(error) });
  sendError(res, 500, `internal error: ${errorMessage(error)}`);
}
