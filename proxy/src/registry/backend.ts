import { Client } from '@modelcontextprotocol/client';
import type {
  CreateMessageRequest,
  ElicitRequest,
  Implementation,
  ListRootsResult,
  LoggingMessageNotification,
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  ResourceUpdatedNotification,
  Result,
  ServerCapabilities,
  Tool,
  Transport,
} from '@modelcontextprotocol/client';
import type { BackendSpec } from '../config/contract.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, isStdioBackend } from '../config/contract.js';
import type { Logger } from '../log.js';
import { Field, errorMessage } from '../log.js';
import type { BackoffPolicy } from './backoff.js';
import { backoffDelay } from './backoff.js';
import { BackendUnavailableError, withTimeout } from './errors.js';
import type { RawRequestOptions } from './wire.js';
import { RawWire } from './wire.js';
import type { BackendTransportKind } from './transports.js';
import { remoteTransport, stdioTransport } from './transports.js';

export type BackendState = 'connecting' | 'ready' | 'failed' | 'stopped';

/** What a backend offers, as last listed. Rebuilt on connect and on its `list_changed`. */
export interface BackendLists {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
}

export const emptyLists: BackendLists = { tools: [], prompts: [], resources: [], resourceTemplates: [] };

/** A backend's task status change (2025-11-25 tasks): relayed to the client that owns the task. */
export interface TaskStatusNotification {
  method: 'notifications/tasks/status';
  params: Record<string, unknown>;
}

/** What a backend pushes that belongs to client sessions. */
export type BackendNotification =
  LoggingMessageNotification | ResourceUpdatedNotification | TaskStatusNotification;

/** How a backend reaches the rest of the proxy; wired once by the registry. */
export interface BackendHooks {
  /** State or lists changed: the catalog must be rebuilt. */
  changed(backend: Backend): void;
  /** Notifications that belong to client sessions (logging, resource updates, task status). */
  notification(backend: Backend, notification: BackendNotification): void;
  /** Requests a backend sends to "the client": answered by the session whose call triggered them. */
  createMessage(backend: Backend, request: CreateMessageRequest): Promise<unknown>;
  elicit(backend: Backend, request: ElicitRequest): Promise<unknown>;
  listRoots(backend: Backend): Promise<ListRootsResult>;
}

export interface BackendOptions {
  name: string;
  owner: string;
  spec: BackendSpec;
  log: Logger;
  hooks: BackendHooks;
  backoff: BackoffPolicy;
  clientInfo: Implementation;
}

/** An open connection: the SDK client, and the raw wire under it that relayed calls use. */
interface Connection {
  client: Client;
  wire: RawWire;
}

const MAX_LIST_PAGES = 100;

/**
 * One backend and its lifecycle: connect, list, serve requests, and on any failure
 * reconnect with exponential backoff. Each backend owns its own connection, so removing
 * or crashing one never touches the others.
 */
export class Backend {
  readonly name: string;
  readonly owner: string;
  private current: BackendSpec;
  state: BackendState = 'connecting';
  error: string | undefined;
  since = new Date();
  restarts = 0;
  transportKind: BackendTransportKind | undefined;
  serverInfo: Implementation | undefined;
  /** The protocol version negotiated with the server on the current connection. */
  protocolVersion: string | undefined;
  capabilities: ServerCapabilities | undefined;
  instructions: string | undefined;
  lists: BackendLists = emptyLists;

  private client: Client | undefined;
  private wire: RawWire | undefined;
  /** Clients of the connection attempt in progress, closed if it fails, times out or is stopped. */
  private opening: Client[] = [];
  /** Bumped by every attempt and by stop(): an attempt whose generation is stale gives up quietly. */
  private generation = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastTransportError: string | undefined;
  private relaying = 0;
  /** Ends a drain in progress (its last call answered, or a stop without drain). */
  private endDrain: (() => void) | undefined;
  private readonly log: Logger;
  private settle: (() => void) | undefined;
  /** Resolves once the first connection attempt has succeeded or failed. */
  readonly settled: Promise<void>;

  constructor(private readonly options: BackendOptions) {
    this.name = options.name;
    this.owner = options.owner;
    this.current = options.spec;
    this.log = options.log.with({ [Field.backend]: options.name });
    this.settled = new Promise((resolve) => (this.settle = resolve));
  }

  get spec(): BackendSpec {
    return this.current;
  }

  /**
   * Takes a spec that differs only in what is read per call or per catalog build (see
   * `sameConnection`): the live connection stays, the catalog is rebuilt.
   */
  retune(spec: BackendSpec): void {
    this.current = spec;
    this.options.hooks.changed(this);
  }

  get timeoutMs(): number {
    return this.spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  start(): void {
    if (this.spec.disabled) {
      this.setState('stopped');
      this.settle?.();
      return;
    }
    void this.connect();
  }

  /** Relayed calls sent and not yet answered. */
  get inFlight(): number {
    return this.relaying;
  }

  /**
   * Stops the backend. With `drainMs`, calls already in flight may finish first (new ones are refused
   * at once: the state is `stopped`); a later stop() without a drain cuts the wait short.
   */
  async stop(drainMs = 0): Promise<void> {
    this.generation++;
    this.setState('stopped');
    clearTimeout(this.retryTimer);
    if (drainMs > 0 && this.relaying > 0) await this.drained(drainMs);
    else this.endDrain?.();
    const clients = [...this.opening, ...(this.client ? [this.client] : [])];
    this.client = undefined;
    this.wire = undefined;
    this.opening = [];
    this.settle?.();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }

  /** The live connection, or an error naming this backend and why it cannot serve. */
  connection(): Client {
    if (this.state !== 'ready' || !this.client) {
      throw new BackendUnavailableError(this.name, this.state, this.error);
    }
    return this.client;
  }

  /** Relays one request raw (see wire.ts): the backend's result or error comes back as it sent it. */
  relay(
    method: string,
    params: Record<string, unknown>,
    options: Omit<RawRequestOptions, 'timeoutMs'>,
  ): Promise<Result> {
    if (this.state !== 'ready' || !this.wire) {
      return Promise.reject(new BackendUnavailableError(this.name, this.state, this.error));
    }
    this.relaying++;
    return this.wire.request(method, params, { timeoutMs: this.timeoutMs, ...options }).finally(() => {
      if (--this.relaying === 0) this.endDrain?.();
    });
  }

  private drained(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.endDrain = () => {
        this.endDrain = undefined;
        done();
      };
    });
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const stale = (): boolean => generation !== this.generation;
    this.setState('connecting');
    this.opening = [];
    const connectTimeoutMs = this.spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    try {
      const { client, wire } = await withTimeout(
        this.open(),
        connectTimeoutMs,
        `backend "${this.name}" initialize`,
      );
      const lists = await withTimeout(
        this.listAll(client),
        connectTimeoutMs,
        `backend "${this.name}" listing`,
      );
      if (stale()) return;
      this.opening = [];
      this.client = client;
      this.wire = wire;
      this.serverInfo = client.getServerVersion();
      this.protocolVersion = client.getNegotiatedProtocolVersion();
      this.capabilities = client.getServerCapabilities();
      this.instructions = client.getInstructions();
      this.lists = lists;
      this.attempt = 0;
      this.error = undefined;
      this.setState('ready');
      this.log.info('backend ready', {
        transport: this.transportKind,
        server: this.serverInfo ? `${this.serverInfo.name}@${this.serverInfo.version}` : undefined,
        tools: lists.tools.length,
        prompts: lists.prompts.length,
        resources: lists.resources.length,
      });
    } catch (error) {
      const clients = this.opening;
      if (stale()) return;
      this.opening = [];
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      // "Connection closed" alone says nothing; the transport's own error (a stdio program's exit
      // code and last stderr lines) says why.
      const message = errorMessage(error);
      const cause = this.lastTransportError;
      this.fail(cause && !message.includes(cause) ? `${message}: ${cause}` : message);
    } finally {
      this.settle?.();
    }
  }

  /** Opens a connection over the spec's transport; a URL without one tries Streamable HTTP, then SSE. */
  private async open(): Promise<Connection> {
    const spec = this.spec;
    if (isStdioBackend(spec)) return this.openWith('stdio', stdioTransport(spec, this.log));
    if (spec.transport) return this.openWith(spec.transport, remoteTransport(spec, spec.transport));
    try {
      return await this.openWith('streamable-http', remoteTransport(spec, 'streamable-http'));
    } catch (httpError) {
      this.log.debug('streamable HTTP failed, trying SSE', { [Field.error]: errorMessage(httpError) });
      try {
        return await this.openWith('sse', remoteTransport(spec, 'sse'));
      } catch (sseError) {
        throw new Error(`streamable-http: ${errorMessage(httpError)}; sse: ${errorMessage(sseError)}`);
      }
    }
  }

  private async openWith(kind: BackendTransportKind, transport: Transport): Promise<Connection> {
    const client = this.newClient();
    const wire = new RawWire(transport);
    this.opening.push(client);
    this.transportKind = kind;
    this.lastTransportError = undefined;
    await client.connect(wire);
    return { client, wire };
  }

  private newClient(): Client {
    const client = new Client(this.options.clientInfo, {
      capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
    });
    const hooks = this.options.hooks;
    // Only a live connection's close is a failure; a failed attempt reports through connect().
    client.onclose = () => {
      if (this.client !== client || this.state !== 'ready') return;
      const cause = this.lastTransportError;
      this.fail(cause ? `connection closed (${cause})` : 'connection closed');
    };
    client.onerror = (error) => {
      this.lastTransportError = truncate(errorMessage(error));
      this.log.debug('transport error', { [Field.error]: this.lastTransportError });
    };
    client.setNotificationHandler('notifications/tools/list_changed', () => this.refresh(client));
    client.setNotificationHandler('notifications/prompts/list_changed', () => this.refresh(client));
    client.setNotificationHandler('notifications/resources/list_changed', () => this.refresh(client));
    client.setNotificationHandler('notifications/resources/updated', (n) => hooks.notification(this, n));
    client.setNotificationHandler('notifications/message', (n) => hooks.notification(this, n));
    // The v2 client has no typed handler for this 2025-11-25 notification: it lands here.
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === 'notifications/tasks/status' && n.params)
        hooks.notification(this, { method: n.method, params: { ...n.params } });
    };
    client.setRequestHandler('roots/list', () => hooks.listRoots(this));
    client.setRequestHandler(
      'sampling/createMessage',
      (request) => hooks.createMessage(this, request) as never,
    );
    client.setRequestHandler('elicitation/create', (request) => hooks.elicit(this, request) as never);
    return client;
  }

  private async refresh(client: Client): Promise<void> {
    if (this.client !== client || this.state !== 'ready') return;
    try {
      this.lists = await this.listAll(client);
      this.options.hooks.changed(this);
    } catch (error) {
      this.log.warn('re-listing after list_changed failed', { [Field.error]: errorMessage(error) });
    }
  }

  private async listAll(client: Client): Promise<BackendLists> {
    const caps = client.getServerCapabilities() ?? {};
    const options = { timeout: this.timeoutMs };
    const [tools, prompts, resources, resourceTemplates] = await Promise.all([
      caps.tools
        ? pages(
            (cursor) => client.request({ method: 'tools/list', params: cursor }, options),
            (r) => r.tools,
          )
        : [],
      caps.prompts
        ? pages(
            (cursor) => client.request({ method: 'prompts/list', params: cursor }, options),
            (r) => r.prompts,
          )
        : [],
      caps.resources
        ? pages(
            (cursor) => client.request({ method: 'resources/list', params: cursor }, options),
            (r) => r.resources,
          )
        : [],
      caps.resources
        ? pages(
            (cursor) => client.request({ method: 'resources/templates/list', params: cursor }, options),
            (r) => r.resourceTemplates,
          )
        : [],
    ]);
    return { tools, prompts, resources, resourceTemplates };
  }

  private fail(reason: string): void {
    this.error = truncate(reason);
    this.lists = emptyLists;
    this.client = undefined;
    this.wire = undefined;
    this.setState('failed');
    const delay = backoffDelay(this.options.backoff, this.attempt++);
    this.log.warn('backend failed, retrying', {
      [Field.error]: reason,
      retryInMs: delay,
      attempt: this.attempt,
    });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.state !== 'failed') return;
      this.restarts++;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private setState(state: BackendState): void {
    if (this.state === state) return;
    if (this.state === 'stopped') return;
    this.state = state;
    this.since = new Date();
    this.options.hooks.changed(this);
  }
}

/** Errors from HTTP servers can carry whole HTML pages; status and logs need the gist. */
function truncate(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Follows `nextCursor` until the backend stops paging (bounded, so a looping cursor cannot hang us). */
async function pages<R extends { nextCursor?: string | undefined }, T>(
  fetchPage: (params: { cursor: string } | undefined) => Promise<R>,
  items: (result: R) => T[],
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const result = await fetchPage(cursor === undefined ? undefined : { cursor });
    all.push(...items(result));
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return all;
}
