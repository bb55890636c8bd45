import { readFileSync } from 'node:fs';
import type { BackendSpec, VirtualServerSpec } from '@multi-mcp/proxy/contract';
import { z } from 'zod';

// Calls to one proxy replica's admin API. Only the fields the operator reads are checked, loosely,
// so a proxy that reports more (newer versions) still works.

export const BackendReportSchema = z.looseObject({
  name: z.string(),
  owner: z.string(),
  state: z.string(),
  error: z.string().nullable().optional(),
  transport: z.string().nullable().optional(),
  serverInfo: z
    .object({ name: z.string(), version: z.string(), protocolVersion: z.string().optional() })
    .loose()
    .nullable()
    .optional(),
  tools: z.array(z.string()).default([]),
  /** Per tool (original name): its definition hash and pin state; proxies before pins omit it. */
  toolDefinitions: z
    .array(
      z.looseObject({
        name: z.string(),
        exposed: z.string().nullable().optional(),
        hash: z.string(),
        state: z.string(),
        pin: z.string().nullable().optional(),
      }),
    )
    .optional(),
  /** Original names of tools quarantined because their definition no longer matches their pin. */
  drifted: z.array(z.string()).optional(),
});
export type BackendReport = z.output<typeof BackendReportSchema>;

const ListResponseSchema = z.looseObject({ servers: z.array(BackendReportSchema) });
const SyncResponseSchema = z.looseObject({
  owner: z.string(),
  revision: z.string().nullable().optional(),
  created: z.array(z.string()).default([]),
  updated: z.array(z.string()).default([]),
  unchanged: z.array(z.string()).default([]),
  removed: z.array(z.string()).default([]),
});
export type SyncResponse = z.output<typeof SyncResponseSchema>;

export interface AdminClientOptions {
  /** A file holding the bearer token, re-read on every call so a rotated token is picked up. */
  tokenFile?: string;
  token?: string;
  timeoutMs: number;
  /** Counts requests per method and path (metrics, tests). */
  onRequest?: (method: string, url: string) => void;
}

export interface AdminClient {
  sync(
    baseUrl: string,
    body: { owner: string; revision: string; mcpServers: Record<string, BackendSpec> },
  ): Promise<SyncResponse>;
  list(baseUrl: string): Promise<BackendReport[]>;
  /** `PUT /virtual_servers`: the operator's whole set of virtual servers on one replica. */
  syncVirtualServers(
    baseUrl: string,
    body: { owner: string; revision: string; virtualServers: Record<string, VirtualServerSpec> },
  ): Promise<SyncResponse>;
}

export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    message: string,
    /** The HTTP status, when the replica answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const token = (): string | undefined => {
    if (options.tokenFile) {
      try {
        return readFileSync(options.tokenFile, 'utf8').trim();
      } catch (error) {
        throw new AdminError(`cannot read the admin token file ${options.tokenFile}: ${String(error)}`);
      }
    }
    return options.token;
  };

  const call = async (method: string, url: string, body?: unknown): Promise<unknown> => {
    options.onRequest?.(method, url);
    const headers: Record<string, string> = { accept: 'application/json' };
    const bearer = token();
    if (bearer) headers['authorization'] = `Bearer ${bearer}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new AdminError(describeFetchError(error, options.timeoutMs));
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const message =
        typeof parsed === 'object' && parsed !== null && 'error' in parsed
          ? String(parsed.error)
          : text.slice(0, 200);
      throw new AdminError(
        `HTTP ${response.status} from ${method} ${new URL(url).pathname}: ${message}`,
        response.status,
      );
    }
    return parsed;
  };

  return {
    async sync(baseUrl, body) {
      return SyncResponseSchema.parse(await call('PUT', `${baseUrl}/mcp_servers`, body));
    },
    async syncVirtualServers(baseUrl, body) {
      return SyncResponseSchema.parse(await call('PUT', `${baseUrl}/virtual_servers`, body));
    },
    async list(baseUrl) {
      const parsed = ListResponseSchema.safeParse(await call('GET', `${baseUrl}/mcp_servers`));
      if (!parsed.success)
        throw new AdminError(`unexpected GET /mcp_servers answer: ${parsed.error.message}`);
      return parsed.data.servers;
    },
  };
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause ? String(cause.code) : undefined;
  return code ?? (cause?.message || (error instanceof Error ? error.message : String(error)));
}
