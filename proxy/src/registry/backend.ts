import { Client, ProtocolError } from '@modelcontextprotocol/client';
import type {
  McpSubscription,
  SubscriptionFilter,
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
import type { RequestLinks } from './links.js';
import { createRequestLinks } from './links.js';
import type { BackendTransportKind } from './transports.js';
import type { BackendEra, CallerEnvelope, ListHints } from './era.js';
import { PROXY_CLIENT_CAPABILITIES, backendMeta, envelopedInitialize, listHints } from './era.js';
import { remoteTransport, stdioTransport } from './transports.js';
import type { ParamHeader } from './param-headers.js';
import { paramHeaderIndex, paramHeadersFor, scanParamHeaders } from './param-headers.js';

export type BackendState = 'connecting' | 'ready' | 'failed' | 'stopped';

/** What a backend offers, as last listed. Rebuilt on connect and on its `list_changed`. */
export interface BackendLists {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
}

export const emptyLists: BackendLists = { tools: [], prompts: [], resources: [], resourceTemplates: [] };

export type ListKind = keyof BackendLists;

/** Relay options: the caller's envelope goes to modern backends in `_meta` (era.ts). */
export interface RelayOptions extends Omit<RawRequestOptions, 'timeoutMs'> {
  caller?: CallerEnvelope;
  /** The calling client's era: a 2025-era client's call goes to the 2025-era twin, if there is one. */
  clientEra?: BackendEra;
  /**
   * Who the call is relayed for: a request the backend sends on this call's response stream
   * reaches the hooks with it (links.ts). Opaque here; the gateway gives and reads it.
   */
  origin?: object;
}

/** A `server/discover` probe a legacy stdio server ignores must not eat the connect timeout. */
const PROBE_TIMEOUT_MS = 5_000;
/** Modern lists with a TTL are listed again when it runs out, at most this often. */
const MIN_RELIST_MS = 1_000;
export const DEFAULT_LIVENESS_INTERVAL_MS = 10_000;
/** A liveness check waits at most this long (or the interval, if longer, or the connect timeout, if shorter). */
const MIN_LIVENESS_TIMEOUT_MS = 5_000;
/** A listen stream the backend dropped is opened again after this long. */
const RELISTEN_DELAY_MS = 1_000;

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
  /**
   * A modern backend announced a change of a `private` list whose copy the proxy holds did not
   * change: the lists some clients are shown may have, so clients are told (the catalog alone
   * only announces changes it can see).
   */
  announced(backend: Backend, kind: 'tools' | 'prompts' | 'resources'): void;
  /**
   * Requests a backend sends to "the client": answered by the session whose call triggered them.
   * `origin` is that call's `RelayOptions.origin` when the request came on its response stream,
   * undefined when nothing links it to a call (stdio, legacy SSE, the standalone stream).
   */
  createMessage(
    backend: Backend,
    request: CreateMessageRequest,
    origin: object | undefined,
  ): Promise<unknown>;
  elicit(backend: Backend, request: ElicitRequest, origin: object | undefined): Promise<unknown>;
  listRoots(backend: Backend, origin: object | undefined): Promise<ListRootsResult>;
}

export interface BackendOptions {
  name: string;
  owner: string;
  spec: BackendSpec;
  log: Logger;
  hooks: BackendHooks;
  backoff: BackoffPolicy;
  clientInfo: Implementation;
  /** How often a connected backend is asked whether it still answers (0 = never; default 10 s). */
  livenessIntervalMs?: number;
}

/** An open connection: the SDK client, the raw wire under it that relayed calls use, and their links. */
interface Connection {
  client: Client;
  wire: RawWire;
  links: RequestLinks;
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
  /** The era of the current connection: `server/discover` answered (modern) or `initialize` (legacy). */
  era: BackendEra | undefined;
  /** Caching hints of the last lists (modern backends only; SEP-2549). */
  hints: Partial<Record<ListKind, ListHints>> = {};
  capabilities: ServerCapabilities | undefined;
  instructions: string | undefined;
  lists: BackendLists = emptyLists;
  /**
   * What a server that serves both eras on one URL shows 2025-era clients, through a second,
   * 2025-era connection (the twin): it may offer them other tools than modern ones (those that
   * send requests to the client over the session). Undefined when there is no twin.
   */
  legacyLists: BackendLists | undefined;

  private client: Client | undefined;
  private wire: RawWire | undefined;
  private links: RequestLinks | undefined;
  private twin: Connection | undefined;
  /** Clients of the connection attempt in progress, closed if it fails, times out or is stopped. */
  private opening: Client[] = [];
  /** Bumped by every attempt and by stop(): an attempt whose generation is stale gives up quietly. */
  private generation = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastTransportError: string | undefined;
  private relaying = 0;
  /** URIs someone wants updates for: a modern backend gets them in its listen filter. */
  private readonly watched = new Set<string>();
  private subscription: McpSubscription | undefined;
  /** Listen streams are replaced one at a time, so none is left open behind another. */
  private listening: Promise<void> = Promise.resolve();
  private relistTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
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
    clearTimeout(this.relistTimer);
    clearTimeout(this.livenessTimer);
    this.subscription = undefined;
    const clients = [
      ...this.opening,
      ...(this.client ? [this.client] : []),
      ...(this.twin ? [this.twin.client] : []),
    ];
    this.client = undefined;
    this.twin = undefined;
    this.legacyLists = undefined;
    this.wire = undefined;
    this.links = undefined;
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

  /**
   * The lists a modern backend marked `cacheScope: private` (SEP-2549: never shared across
   * clients). The proxy's own copy routes calls; each client is shown what the backend lists
   * for that client (`listFor`).
   */
  privateKinds(): ListKind[] {
    if (this.era !== 'modern' || this.state !== 'ready') return [];
    return (Object.keys(this.hints) as ListKind[]).filter((kind) => this.hints[kind]?.scope === 'private');
  }

  /** Lists `kinds` again on behalf of one client (its capabilities go in the envelope). */
  async listFor(kinds: readonly ListKind[], caller: CallerEnvelope): Promise<Partial<BackendLists>> {
    const methods: Record<ListKind, [string, string]> = {
      tools: ['tools/list', 'tools'],
      prompts: ['prompts/list', 'prompts'],
      resources: ['resources/list', 'resources'],
      resourceTemplates: ['resources/templates/list', 'resourceTemplates'],
    };
    const entries = await Promise.all(
      kinds.map(async (kind) => {
        const [method, field] = methods[kind];
        const items = await pages(
          (cursor) =>
            this.relay(method, cursor ?? {}, { caller }) as Promise<{ nextCursor?: string } & Result>,
          (result) => (Array.isArray(result[field]) ? (result[field] as never[]) : []),
        );
        return [kind, kind === 'tools' ? this.withValidParamHeaders(items as Tool[]) : items] as const;
      }),
    );
    return Object.fromEntries(entries) as Partial<BackendLists>;
  }

  /** Whether this backend can send updates for resources someone subscribes to. */
  get subscribable(): boolean {
    if (this.state !== 'ready') return false;
    // A modern backend sends updates on its listen stream; `subscribe` is the 2025 capability.
    return this.era === 'modern' || Boolean(this.capabilities?.resources?.subscribe);
  }

  /**
   * Starts updates for `uri`: `resources/subscribe` on a legacy connection, the listen
   * filter of a modern one (a new stream replaces the old, opened before it closes).
   */
  async subscribe(uri: string): Promise<void> {
    if (this.era === 'modern') {
      if (this.watched.has(uri)) return;
      this.watched.add(uri);
      if (this.client) await this.listen(this.client);
      return;
    }
    await this.relay('resources/subscribe', { uri }, {});
  }

  async unsubscribe(uri: string): Promise<void> {
    if (this.era === 'modern') {
      if (!this.watched.delete(uri)) return;
      if (this.client) await this.listen(this.client);
      return;
    }
    await this.relay('resources/unsubscribe', { uri }, {});
  }

  /**
   * The `x-mcp-header` declarations of one of its tools (by the name it knows), as the modern
   * connection lists them: what a 2026-07-28 call must carry as `Mcp-Param-*` headers.
   */
  paramHeaders(tool: string): readonly ParamHeader[] | undefined {
    return paramHeaderIndex(this.lists.tools).get(tool);
  }

  /**
   * The `Mcp-Param-*` headers a relayed call goes out with: a 2026-07-28 server over Streamable
   * HTTP refuses a tools/call without those its tool declares, built here from the arguments;
   * the ones a 2026-07-28 client sent that the tool does not declare (`sentByClient`) pass on.
   * None for other backends, other methods, or a 2025-era client's call to the 2025-era twin.
   */
  outgoingParamHeaders(
    method: string,
    params: Record<string, unknown>,
    clientEra: BackendEra | undefined,
    sentByClient: Record<string, string> | undefined,
  ): Record<string, string> | undefined {
    if (method !== 'tools/call' || this.era !== 'modern' || this.transportKind !== 'streamable-http') return;
    if (clientEra === 'legacy' && this.twin !== undefined) return;
    const tool = params['name'];
    const declared = (typeof tool === 'string' && this.paramHeaders(tool)) || undefined;
    return declared ? paramHeadersFor(declared, params['arguments'], sentByClient) : sentByClient;
  }

  /** Relays one request raw (see wire.ts): the backend's result or error comes back as it sent it. */
  relay(method: string, params: Record<string, unknown>, options: RelayOptions): Promise<Result> {
    if (this.state !== 'ready' || !this.wire) {
      return Promise.reject(new BackendUnavailableError(this.name, this.state, this.error));
    }
    const { caller, clientEra, origin, ...rest } = options;
    const viaTwin = clientEra === 'legacy' && this.twin !== undefined;
    const wire = viaTwin ? this.twin!.wire : this.wire;
    const links = viaTwin ? this.twin!.links : this.links;
    const { _meta, ...plain } = params;
    const meta = backendMeta(
      _meta as Record<string, unknown> | undefined,
      viaTwin ? 'legacy' : (this.era ?? 'legacy'),
      this.protocolVersion,
      this.options.clientInfo,
      caller,
    );
    const sent = meta === undefined ? plain : { ...plain, _meta: meta };
    this.relaying++;
    const request = (): Promise<Result> => wire.request(method, sent, { timeoutMs: this.timeoutMs, ...rest });
    return (links ? links.tag(origin, request) : request()).finally(() => {
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
      const { client, wire, links } = await withTimeout(
        this.open(),
        connectTimeoutMs,
        `backend "${this.name}" initialize`,
      );
      // The twin first: the modern connection's own requests are then the server's last word
      // from the proxy (a server that rejected a version sees the retry hold).
      const twin = client.getProtocolEra() === 'modern' ? await this.openTwin(connectTimeoutMs) : undefined;
      const lists = await withTimeout(
        this.listAll(client),
        connectTimeoutMs,
        `backend "${this.name}" listing`,
      ).catch(async (error: unknown) => {
        await twin?.connection.client.close().catch(() => {});
        throw error;
      });
      if (stale()) {
        await twin?.connection.client.close().catch(() => {});
        return;
      }
      this.opening = [];
      this.twin = twin?.connection;
      this.legacyLists = twin?.lists;
      this.client = client;
      this.wire = wire;
      this.links = links;
      this.serverInfo = client.getServerVersion();
      this.protocolVersion = client.getNegotiatedProtocolVersion();
      this.era = client.getProtocolEra() === 'modern' ? 'modern' : 'legacy';
      this.capabilities = client.getServerCapabilities();
      this.instructions = client.getInstructions();
      this.lists = lists;
      this.attempt = 0;
      this.error = undefined;
      // A reconnect starts with no subscriptions but the URIs sessions still want (resubscribe.ts).
      if (this.era === 'legacy') this.watched.clear();
      this.setState('ready');
      this.scheduleLivenessCheck(client);
      if (this.era === 'modern') {
        this.scheduleRelist(client);
        await this.listen(client).catch(() => {});
      }
      this.log.info('backend ready', {
        era: this.era,
        protocolVersion: this.protocolVersion,
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
    if (isStdioBackend(spec)) return this.negotiate('stdio', () => stdioTransport(spec, this.log));
    const sse = (): Transport => remoteTransport(spec, 'sse');
    if (spec.transport === 'sse') return this.openWith('sse', sse, 'legacy');
    const kind = spec.transport;
    if (kind) return this.negotiate(kind, (links) => remoteTransport(spec, kind, links));
    try {
      return await this.negotiate('streamable-http', (links) =>
        remoteTransport(spec, 'streamable-http', links),
      );
    } catch (httpError) {
      this.log.debug('streamable HTTP failed, trying SSE', { [Field.error]: errorMessage(httpError) });
      try {
        return await this.openWith('sse', sse, 'legacy');
      } catch (sseError) {
        throw new Error(`streamable-http: ${errorMessage(httpError)}; sse: ${errorMessage(sseError)}`);
      }
    }
  }

  /**
   * Probes with `server/discover` and falls back to `initialize` (the SDK's `auto` mode). A
   * server that dies or stays silent on the probe (some 2025-era stdio servers do) gets a second,
   * plain 2025 attempt on a fresh transport.
   */
  private async negotiate(
    kind: BackendTransportKind,
    transport: (links: RequestLinks) => Transport,
  ): Promise<Connection> {
    try {
      return await this.openWith(kind, transport, 'auto');
    } catch (probeError) {
      this.log.debug('server/discover probe failed, connecting as a 2025-era client', {
        [Field.error]: errorMessage(probeError),
      });
      return this.openWith(kind, transport, 'legacy');
    }
  }

  /**
   * A modern backend reached over Streamable HTTP may serve 2025-era clients too, with other
   * tools (see `legacyLists`): a second connection as a 2025-era client finds out. A server that
   * refuses `initialize` has no twin, and 2025-era clients get its modern catalog (calls that
   * need client input are bridged, see gateway/input-rounds.ts).
   */
  private async openTwin(
    timeoutMs: number,
  ): Promise<{ connection: Connection; lists: BackendLists } | undefined> {
    const spec = this.spec;
    if (isStdioBackend(spec) || this.transportKind !== 'streamable-http') return undefined;
    const links = createRequestLinks();
    const client = this.newClient('legacy', links, true);
    const wire = new RawWire(
      envelopedInitialize(remoteTransport(spec, 'streamable-http', links), this.options.clientInfo),
    );
    this.opening.push(client);
    try {
      await withTimeout(client.connect(wire), timeoutMs, `backend "${this.name}" 2025-era initialize`);
      const lists = await withTimeout(
        this.listAll(client),
        timeoutMs,
        `backend "${this.name}" 2025-era listing`,
      );
      return { connection: { client, wire, links }, lists };
    } catch (error) {
      this.log.debug('no 2025-era twin: the server serves only 2026-07-28 clients here', {
        [Field.error]: errorMessage(error),
      });
      await client.close().catch(() => {});
      return undefined;
    }
  }

  private async openWith(
    kind: BackendTransportKind,
    transport: (links: RequestLinks) => Transport,
    mode: 'auto' | 'legacy',
  ): Promise<Connection> {
    const links = createRequestLinks();
    const client = this.newClient(mode, links);
    const wire = new RawWire(transport(links));
    this.opening.push(client);
    this.transportKind = kind;
    this.lastTransportError = undefined;
    await client.connect(wire);
    return { client, wire, links };
  }

  private newClient(mode: 'auto' | 'legacy', links: RequestLinks, isTwin = false): Client {
    const client = new Client(this.options.clientInfo, {
      capabilities: PROXY_CLIENT_CAPABILITIES,
      versionNegotiation: {
        mode,
        probe: {
          timeoutMs: Math.min(PROBE_TIMEOUT_MS, this.spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
        },
      },
    });
    const hooks = this.options.hooks;
    // Only a live connection's close is a failure; a failed attempt reports through connect().
    client.onclose = () => {
      if (isTwin) return this.dropTwin(client);
      if (this.client !== client || this.state !== 'ready') return;
      const cause = this.lastTransportError;
      this.fail(cause ? `connection closed (${cause})` : 'connection closed');
    };
    client.onerror = (error) => {
      this.lastTransportError = truncate(errorMessage(error));
      this.log.debug('transport error', { [Field.error]: this.lastTransportError });
    };
    const refresh = (kind: 'tools' | 'prompts' | 'resources') => () =>
      isTwin ? this.refreshTwin(client) : this.refresh(client, kind);
    client.setNotificationHandler('notifications/tools/list_changed', refresh('tools'));
    client.setNotificationHandler('notifications/prompts/list_changed', refresh('prompts'));
    client.setNotificationHandler('notifications/resources/list_changed', refresh('resources'));
    // Resource updates come over the modern connection's listen stream (subscribe()), not the twin's.
    if (!isTwin)
      client.setNotificationHandler('notifications/resources/updated', (n) => hooks.notification(this, n));
    client.setNotificationHandler('notifications/message', (n) => hooks.notification(this, n));
    // The v2 client has no typed handler for this 2025-11-25 notification: it lands here.
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === 'notifications/tasks/status' && n.params)
        hooks.notification(this, { method: n.method, params: { ...n.params } });
    };
    client.setRequestHandler('roots/list', (_request, ctx) =>
      hooks.listRoots(this, links.take(ctx.mcpReq.id)),
    );
    client.setRequestHandler(
      'sampling/createMessage',
      (request, ctx) => hooks.createMessage(this, request, links.take(ctx.mcpReq.id)) as never,
    );
    client.setRequestHandler(
      'elicitation/create',
      (request, ctx) => hooks.elicit(this, request, links.take(ctx.mcpReq.id)) as never,
    );
    return client;
  }

  private async refresh(client: Client, announced?: 'tools' | 'prompts' | 'resources'): Promise<void> {
    if (this.client !== client || this.state !== 'ready') return;
    try {
      const before = announced && JSON.stringify(this.lists[announced]);
      this.lists = await this.listAll(client);
      this.options.hooks.changed(this);
      if (
        announced &&
        this.privateKinds().includes(announced) &&
        before === JSON.stringify(this.lists[announced])
      ) {
        this.options.hooks.announced(this, announced);
      }
      if (this.era === 'modern') this.scheduleRelist(client);
    } catch (error) {
      this.log.warn('re-listing after list_changed failed', { [Field.error]: errorMessage(error) });
    }
  }

  private async refreshTwin(client: Client): Promise<void> {
    if (this.twin?.client !== client || this.state !== 'ready') return;
    try {
      this.legacyLists = await this.listAll(client);
      this.options.hooks.changed(this);
    } catch (error) {
      this.log.warn('re-listing the 2025-era twin failed', { [Field.error]: errorMessage(error) });
    }
  }

  /** A twin that closed leaves 2025-era clients the modern catalog until the backend reconnects. */
  private dropTwin(client: Client): void {
    if (this.twin?.client !== client) return;
    this.twin = undefined;
    this.legacyLists = undefined;
    this.log.warn('the 2025-era twin connection closed; 2025-era clients get the 2026-07-28 catalog');
    this.options.hooks.changed(this);
  }

  /**
   * A modern backend's lists stay fresh for their `ttlMs` (SEP-2549): the proxy lists again
   * when the shortest runs out. Without a TTL (or 0), its listen stream's list_changed is what
   * says a list changed, as for 2025-era backends.
   */
  private scheduleRelist(client: Client): void {
    clearTimeout(this.relistTimer);
    const ttls = Object.values(this.hints)
      .map((h) => h?.ttlMs)
      .filter((ttl): ttl is number => ttl !== undefined && ttl > 0);
    if (ttls.length === 0) return;
    this.relistTimer = setTimeout(
      () => void this.refresh(client),
      Math.max(MIN_RELIST_MS, Math.min(...ttls)),
    );
    this.relistTimer.unref();
  }

  /**
   * A remote server that went away is noticed by nothing else: an HTTP transport only finds out on
   * the next request, and until then the backend would stay `ready` (and its McpServer Ready) while
   * every call fails. So a ready backend is asked every interval — `ping`, or `server/discover` in
   * the 2026-07-28 era, which has no ping — and one that cannot be reached or does not answer in
   * time fails and reconnects with backoff. An error answer still proves it is there.
   */
  private scheduleLivenessCheck(client: Client): void {
    const interval = this.options.livenessIntervalMs ?? DEFAULT_LIVENESS_INTERVAL_MS;
    if (interval <= 0) return;
    clearTimeout(this.livenessTimer);
    this.livenessTimer = setTimeout(() => void this.checkLiveness(client, interval), interval);
    this.livenessTimer.unref();
  }

  private async checkLiveness(client: Client, interval: number): Promise<void> {
    if (this.client !== client || this.state !== 'ready') return;
    const timeout = Math.min(
      this.spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      Math.max(interval, MIN_LIVENESS_TIMEOUT_MS),
    );
    const method = this.era === 'modern' ? 'server/discover' : 'ping';
    try {
      if (this.era === 'modern') await client.discover({ timeout });
      else await client.ping({ timeout });
    } catch (error) {
      if (this.client !== client || this.state !== 'ready') return;
      if (!(error instanceof ProtocolError)) {
        const cause = this.lastTransportError;
        const message = errorMessage(error);
        this.fail(
          `no answer to ${method}: ${cause && !message.includes(cause) ? `${message}: ${cause}` : message}`,
        );
        return;
      }
    }
    if (this.client === client && this.state === 'ready') this.scheduleLivenessCheck(client);
  }

  /**
   * Opens (or replaces) the `subscriptions/listen` stream of a modern backend: list changes it
   * announces and updates of watched resources arrive on it and reach the same handlers as a
   * 2025-era backend's notifications. A stream the backend drops is opened again.
   */
  private listen(client: Client): Promise<void> {
    const next = this.listening.then(() => this.relisten(client));
    this.listening = next.catch(() => {});
    return next;
  }

  private async relisten(client: Client): Promise<void> {
    const caps = this.capabilities ?? {};
    const filter: SubscriptionFilter = {
      ...(caps.tools?.listChanged && { toolsListChanged: true }),
      ...(caps.prompts?.listChanged && { promptsListChanged: true }),
      ...(caps.resources?.listChanged && { resourcesListChanged: true }),
      ...(this.watched.size > 0 && { resourceSubscriptions: [...this.watched] }),
    };
    const previous = this.subscription;
    if (Object.keys(filter).length === 0) {
      this.subscription = undefined;
      await previous?.close().catch(() => {});
      return;
    }
    try {
      const subscription = await client.listen(filter, { timeout: this.timeoutMs });
      if (this.client !== client || this.state !== 'ready') {
        await subscription.close().catch(() => {});
        return;
      }
      this.subscription = subscription;
      void subscription.closed.then((how) => {
        if (how === 'local' || this.subscription !== subscription) return;
        this.log.debug('listen stream ended, opening it again', { how });
        setTimeout(() => {
          if (this.client === client && this.state === 'ready' && this.subscription === subscription)
            void this.listen(client).catch(() => {});
        }, RELISTEN_DELAY_MS).unref();
      });
    } catch (error) {
      this.log.warn('subscriptions/listen failed: no list changes or resource updates from this backend', {
        [Field.error]: errorMessage(error),
      });
      throw error;
    } finally {
      if (previous && previous !== this.subscription) await previous.close().catch(() => {});
    }
  }

  private async listAll(client: Client): Promise<BackendLists> {
    const caps = client.getServerCapabilities() ?? {};
    const options = { timeout: this.timeoutMs };
    const hints: Partial<Record<ListKind, ListHints>> = {};
    const hinted =
      <R>(kind: ListKind, fetchPage: () => Promise<R>) =>
      async (): Promise<R> => {
        const result = await fetchPage();
        hints[kind] ??= listHints(result);
        return result;
      };
    const [tools, prompts, resources, resourceTemplates] = await Promise.all([
      caps.tools
        ? pages(
            (cursor) =>
              hinted('tools', () => client.request({ method: 'tools/list', params: cursor }, options))(),
            (r) => r.tools,
          )
        : [],
      caps.prompts
        ? pages(
            (cursor) =>
              hinted('prompts', () => client.request({ method: 'prompts/list', params: cursor }, options))(),
            (r) => r.prompts,
          )
        : [],
      caps.resources
        ? pages(
            (cursor) =>
              hinted('resources', () =>
                client.request({ method: 'resources/list', params: cursor }, options),
              )(),
            (r) => r.resources,
          )
        : [],
      caps.resources
        ? pages(
            (cursor) =>
              hinted('resourceTemplates', () =>
                client.request({ method: 'resources/templates/list', params: cursor }, options),
              )(),
            (r) => r.resourceTemplates,
          )
        : [],
    ]);
    if (client.getProtocolEra() !== 'modern') return { tools, prompts, resources, resourceTemplates };
    this.hints = hints;
    return { tools: this.withValidParamHeaders(tools), prompts, resources, resourceTemplates };
  }

  /**
   * A client of a 2026-07-28 server over Streamable HTTP must leave out tools whose
   * `x-mcp-header` declarations break the spec's rules (their headers cannot be sent right), so
   * one malformed tool never takes the others with it; said once per listing in the log.
   */
  private withValidParamHeaders(tools: Tool[]): Tool[] {
    if (this.transportKind !== 'streamable-http') return tools;
    const valid = tools.filter((tool) => {
      const scan = scanParamHeaders(tool.inputSchema);
      if (!scan.valid) {
        this.log.warn('tool left out: invalid x-mcp-header declaration', {
          tool: tool.name,
          [Field.error]: scan.reason,
        });
      }
      return scan.valid;
    });
    return valid.length === tools.length ? tools : valid;
  }

  private fail(reason: string): void {
    this.error = truncate(reason);
    this.lists = emptyLists;
    const twin = this.twin;
    this.twin = undefined;
    this.legacyLists = undefined;
    void twin?.client.close().catch(() => {});
    this.client = undefined;
    this.wire = undefined;
    this.links = undefined;
    this.subscription = undefined;
    clearTimeout(this.relistTimer);
    clearTimeout(this.livenessTimer);
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
