import {
  DEFAULT_LIMITS,
  encodeMessage,
  helloBlocks,
  isValidName,
  PROTOCOL_VERSION,
} from "../protocol/mod.ts";
import { Connection } from "./connection.ts";
import type { Link } from "./link.ts";
import type { CommandHandler, Feature, FeatureHost } from "./feature.ts";
import type { ServerOptions } from "./server_options.ts";
import { FEATURES } from "./features.ts";
import { Session } from "./session.ts";
import { FlowControl } from "./flow_control.ts";
import { checkAgents } from "./agents/agents_feature.ts";
import { serverLogger } from "./_log.ts";
import {
  closeForLimit,
  HelloDeadlines,
  MessageRate,
  resolveLimits,
  type ServerLimits,
} from "./limits.ts";
import { Authenticator } from "./auth.ts";
import { Counters } from "./metrics/counters.ts";
import { collectStats } from "./metrics/collect.ts";
import type { ServerStats } from "./metrics/stats.ts";
import { emdAgent } from "./metrics/emd_agent.ts";
import { Readiness } from "./metrics/readiness.ts";
import { listenTcp, TcpTransport } from "./transports/tcp.ts";
import type { Acceptor } from "./transports/tls_listener.ts";
import type { Transport, TransportHost } from "./transports/transport.ts";
import type { HttpHandler } from "./transports/http_handler.ts";
import { webTransport } from "./transports/web.ts";
import type { Bus } from "./delivery/bus.ts";
import { openBus } from "./delivery/open_bus.ts";

const log = serverLogger();
const encoder = new TextEncoder();
/** Refused connections still being told why; past this, more are closed without a word. */
const MAX_REFUSED_CLOSING = 64;

/** A running emd. */
export interface EmServer extends AsyncDisposable {
  /** The address it listens on (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** The server's name. */
  readonly name: string;
  /** Settles with the reason once the server has stopped (quit, close, signal). */
  readonly finished: Promise<string>;
  /** The HTTP listener's address, when started with `http`. */
  readonly httpAddr: Deno.NetAddr | undefined;
  /** Open connections. */
  readonly connectionCount: number;
  /**
   * What the server is doing: connections, traffic, disconnects, agents, sync state, process.
   * @param detail true to list the connections themselves
   */
  stats(detail?: boolean): ServerStats;
  /**
   * When the server is ready to serve (`/readyz`): listening and not stopping, plus the checks
   * added here (a cluster adds "connected to it").
   */
  readonly readiness: Readiness;
  /** Closes every connection and the listener; resolves once all are closed. Idempotent. */
  close(reason?: string): Promise<void>;
}

/**
 * Starts an em server.
 * @param options name, port, hostname and limits
 * @returns the running server
 * @throws {TypeError} for an invalid name
 * @throws {RangeError} for an invalid port or limit
 * @throws {Deno.errors.AddrInUse} when the port is taken
 * @throws {TypeError} for two agents with one API name (an agent's failed `init` rejects)
 */
export function startServer(options: ServerOptions): Promise<EmServer> {
  if (!isValidName(options.name)) {
    throw new TypeError(
      `Invalid server name "${options.name}": use [A-Za-z0-9_]+`,
    );
  }
  const port = options.port ?? 4000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid port "${port}": use 0 to 65535`);
  }
  checkAgents(options.agents ?? []);
  const limits = resolveLimits(options);
  const auth = options.secret === undefined
    ? undefined
    : new Authenticator(options.secret);
  const where = { hostname: options.hostname ?? "127.0.0.1", port };
  const httpWhere = httpAddress(where.hostname, options);
  const start = (listener: Acceptor, http: Acceptor | undefined) =>
    ready(new Server(listener, options, { limits, auth, http }));
  const tls = options.tls;
  if (tls === undefined) { // bound synchronously: a port in use throws at once
    const listener = listenTcp(where);
    let http: Acceptor | undefined;
    try {
      http = httpWhere && listenTcp(httpWhere);
    } catch (error) {
      listener.close();
      throw error;
    }
    return start(listener, http);
  }
  // node:net and node:tls only for TLS
  return import("./transports/tls_listener.ts").then(async ({ listenTls }) => {
    const listener = await listenTls(where, tls);
    let http: Acceptor | undefined;
    try { // https and wss on the same kind of listener: TCP_NODELAY, silent peers dropped
      http = httpWhere && await listenTls(httpWhere, tls);
    } catch (error) {
      listener.close();
      throw error;
    }
    return start(listener, http);
  });
}

/**
 * Where the HTTP listener binds, when asked for.
 * @throws {RangeError} for an invalid port
 */
function httpAddress(
  hostname: string,
  options: ServerOptions,
): { hostname: string; port: number } | undefined {
  if (options.http === undefined) return undefined;
  const { port } = options.http;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid HTTP port "${port}": use 0 to 65535`);
  }
  return { hostname, port };
}

/** True for an address only this machine can reach. */
export function isLoopback(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === "::1" || hostname === "localhost";
}

async function ready(server: Server): Promise<EmServer> {
  try {
    await server.ready;
  } catch (error) {
    await server.close("start failed");
    throw error;
  }
  return server;
}

class Server implements EmServer, FeatureHost, TransportHost {
  readonly options: ServerOptions;
  #features: Feature[];
  readonly addr: Deno.NetAddr;
  readonly name: string;
  readonly finished: Promise<string>;
  readonly limits = DEFAULT_LIMITS;
  readonly ready: Promise<void>;
  #transports: Transport[] = [];
  readonly httpAddr: Deno.NetAddr | undefined;
  /** Asked in order for each plain HTTP request (features' `serveHttp` come first). */
  readonly httpHandlers: HttpHandler[] = [];
  readonly serverLimits: ServerLimits;
  #helloDeadlines: HelloDeadlines;
  #refused = new Set<Link>(); // told "too many connections", closing
  #sessions = new Set<Session>();
  #running = new Set<Promise<void>>();
  #receivers = new Set<Session>();
  readonly flow: FlowControl;
  readonly counters: Counters = new Counters();
  readonly readiness: Readiness = new Readiness();
  readonly startTimeMs: number = Date.now();
  #handlers: Map<string, CommandHandler>;
  #hello: Uint8Array;
  #helloBlocks: ReturnType<typeof helloBlocks>;
  readonly auth: Authenticator | undefined;
  readonly bus: Bus;
  readonly clusterLog = serverLogger("cluster");
  #clustered: boolean;
  #stopping: Promise<void> | undefined;
  #resolveFinished!: (reason: string) => void;

  constructor(
    listener: Acceptor,
    options: ServerOptions,
    { limits, auth, http }: {
      limits: ServerLimits;
      auth: Authenticator | undefined;
      http: Acceptor | undefined;
    },
  ) {
    this.auth = auth;
    this.name = options.name;
    this.serverLimits = limits;
    this.#helloDeadlines = new HelloDeadlines(limits.helloTimeoutMs);
    this.flow = new FlowControl(limits.maxQueuedBytes / 4);
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
    this.readiness.add(
      "server",
      () => this.#stopping === undefined ? undefined : "stopping",
    );
    this.options = {
      ...options,
      agents: [emdAgent(this), ...(options.agents ?? [])],
    };
    this.bus = openBus(this);
    this.#clustered = this.bus.clustered;
    this.bus.onRemote(
      ["plain"],
      (delivery) =>
        delivery.kind === "plain"
          ? this.#fanOutHere(delivery.frame, delivery.lines, delivery.from)
          : 0,
    );
    this.#features = FEATURES.map((create) => create(this));
    this.ready = Promise.all([
      this.bus.ready,
      ...this.#features.map((feature) => feature.ready),
      auth?.ready,
    ]).then(() => {});
    this.#handlers = new Map();
    for (const feature of this.#features) {
      for (const [letter, handler] of feature.commands ?? []) {
        if (this.#handlers.has(letter)) {
          throw new Error(`Two features handle command "${letter}"`);
        }
        this.#handlers.set(letter, handler);
      }
    }
    const hello = this.#helloBlocks = helloBlocks(
      PROTOCOL_VERSION,
      this.#features.flatMap((feature) => feature.helloOptions?.() ?? []),
    );
    this.#hello = encoder.encode(
      encodeMessage(hello.command, hello.options) + "\n",
    );
    const tcp = new TcpTransport(listener, this);
    this.addr = tcp.addr;
    this.#transports.push(tcp);
    this.#track(tcp.finished);
    for (const feature of this.#features) {
      if (feature.serveHttp) this.httpHandlers.push(feature.serveHttp);
    }
    this.httpHandlers.push(...options.http?.handlers ?? []);
    const web = http && webTransport(http, this);
    this.httpAddr = web?.addr;
    if (web) {
      this.#transports.push(web);
      this.#track(web.finished);
    }
    this.#announce();
  }

  #announce(): void {
    const { hostname, port } = this.addr;
    log.info("Listening on {hostname}:{port} as {name}{security}", {
      hostname,
      port,
      name: this.name,
      security: (this.options.tls ? ", TLS" : "") +
        (this.auth ? ", shared secret required" : ""),
    });
    if (this.auth === undefined && !isLoopback(hostname)) {
      log.warn(
        "Listening on {hostname}:{port} WITHOUT A SHARED SECRET: anyone who can reach it can trigger events and stop the server. Give a secret (--secret-file or EM_SECRET) or listen on 127.0.0.1",
        { hostname, port },
      );
    }
  }

  get connectionCount(): number {
    return this.#sessions.size;
  }

  dispatch(session: Session, message: Parameters<CommandHandler>[1]): boolean {
    const handler = this.#handlers.get(message.command.letter);
    if (handler === undefined) return false;
    handler(session, message);
    return true;
  }

  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  fanOut(frame: Uint8Array, lines = 1, from = "server"): number {
    this.counters.triggers += lines; // not in #fanOutHere: another node's triggers were counted there
    const receivers = this.#fanOutHere(frame, lines, from);
    if (this.#clustered) {
      this.bus.publish({ kind: "plain", frame, lines, from });
    }
    return receivers;
  }

  /** Delivers to this node's receiving sessions only. */
  #fanOutHere(frame: Uint8Array, lines: number, from: string): number {
    for (const receiver of this.#receivers) receiver.connection.send(frame);
    const receivers = this.#receivers.size, counters = this.counters;
    counters.deliveries += lines * receivers;
    if (counters.tap.active) counters.tap.plain(frame, from, receivers);
    return receivers;
  }

  stats(detail = false): ServerStats {
    const { hostname, port } = this.addr;
    return collectStats({
      name: this.name,
      version: this.options.version ?? "unknown",
      protocols: this.httpAddr === undefined
        ? ["1.1", "1.2"]
        : ["1.1", "1.2", "x-afb-ws-json1"],
      startTimeMs: this.startTimeMs,
      addresses: [
        `${this.options.tls ? "tls" : "tcp"} ${hostname}:${port}`,
        ...(this.httpAddr === undefined ? [] : [
          `${
            this.options.tls ? "https" : "http"
          } ${this.httpAddr.hostname}:${this.httpAddr.port}`,
        ]),
      ],
      counters: this.counters,
      sessions: this.#sessions,
      featureStats: Object.assign(
        {},
        ...this.#features.map((feature) => feature.report?.()),
      ),
      cluster: this.bus.stats?.(),
    }, detail);
  }

  quit(reason: string): void {
    void this.close(reason);
  }

  onHello(session: Session, message: Parameters<CommandHandler>[1]): void {
    this.#helloDeadlines.done(session.connection);
    for (const feature of this.#features) feature.onHello?.(session, message);
  }

  newMessageRate(): MessageRate | undefined {
    const { maxMessagesPerSecond, messageBurst } = this.serverLimits;
    if (maxMessagesPerSecond === 0) return undefined;
    return new MessageRate(
      maxMessagesPerSecond,
      messageBurst,
      performance.now(),
    );
  }

  setReceiving(session: Session, receiving: boolean): void {
    if (receiving) this.#receivers.add(session);
    else this.#receivers.delete(session);
  }

  close(reason = "closed"): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #stop(reason: string): Promise<void> {
    log.info("Stopping: {reason}", { reason });
    for (const transport of this.#transports) transport.close();
    for (const session of this.#sessions) {
      session.connection.close(`Server stopping: ${reason}`);
    }
    for (const connection of this.#refused) connection.close("Server stopping");
    this.flow.stop();
    this.counters.tap.stop();
    await Promise.all([...this.#sessions].map((session) => session.run()));
    while (this.#running.size > 0) await Promise.all(this.#running);
    for (const feature of this.#features) await feature.stop?.();
    await this.bus.close();
    this.#resolveFinished(reason);
  }

  logger(part: string): ReturnType<typeof serverLogger> {
    return serverLogger(part);
  }

  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  connection(conn: Deno.Conn, queueScale = 1): Connection {
    const { maxQueuedBytes } = this.serverLimits;
    return new Connection(conn, maxQueuedBytes * queueScale, {
      watcher: this.flow,
      traffic: this.counters,
    });
  }

  open(connection: Link): void {
    this.counters.accepted++;
    if (this.#stopping !== undefined) {
      return connection.close("Server stopping");
    }
    if (this.#sessions.size >= this.serverLimits.maxConnections) {
      return this.#refuse(connection);
    }
    const session = new Session(connection, this);
    this.#sessions.add(session);
    log.info("Accepted {peer}", { peer: connection.peer });
    connection.send(this.#helloFor(session));
    this.#helloDeadlines.start(connection);
    void session.run(); // then sessionEnded; stop() waits for every session's run()
  }

  /** A session's read loop ended: forget it (SessionHost). */
  sessionEnded(session: Session): void {
    const { connection } = session;
    this.#helloDeadlines.done(connection);
    this.#sessions.delete(session);
    this.#receivers.delete(session);
    this.counters.disconnected(connection.peer, connection.closeReason!);
    for (const feature of this.#features) feature.onClose?.(session);
  }

  /** Past maxConnections: an `e` line, then closed (at once when many refusals are pending). */
  #refuse(connection: Link): void {
    const max = this.serverLimits.maxConnections;
    closeForLimit(connection, "maxConnections", max, "Too many connections");
    this.counters.disconnected(connection.peer, connection.closeReason!);
    if (this.#refused.size >= MAX_REFUSED_CLOSING) {
      return connection.close("Too many connections");
    }
    this.#refused.add(connection);
    this.#track(
      connection.readLoop(() => {}).then(() => {
        this.#refused.delete(connection);
      }),
    );
  }

  /** The hello for a new session: shared bytes, or with a fresh nonce when a secret is set. */
  #helloFor(session: Session): Uint8Array {
    if (this.auth === undefined) return this.#hello;
    const challenge = this.auth.challenge();
    session.challenge = challenge.params[0];
    const { command, options } = this.#helloBlocks;
    return encoder.encode(
      encodeMessage(command, [...options, challenge]) + "\n",
    );
  }

  #track(task: Promise<void>): void {
    this.#running.add(task);
    task.finally(() => this.#running.delete(task));
  }
}
