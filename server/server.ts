import { DEFAULT_LIMITS } from "../protocol/mod.ts";
import { Connection } from "./connection.ts";
import type { Link } from "./link.ts";
import type { CommandHandler, Feature, FeatureHost } from "./feature.ts";
import type { ServerOptions } from "./server_options.ts";
import type { EmServer } from "./em_server.ts";
import { commandTable, FEATURES } from "./features.ts";
import { Session } from "./session.ts";
import { FlowControl } from "./flow_control.ts";
import { serverLogger } from "./_log.ts";
import { HelloDeadlines, MessageRate, type ServerLimits } from "./limits.ts";
import type { Authenticator } from "./auth.ts";
import { Counters } from "./metrics/counters.ts";
import { collectStats } from "./metrics/collect.ts";
import type { ServerStats } from "./metrics/stats.ts";
import { emdAgent } from "./metrics/emd_agent.ts";
import { Readiness } from "./metrics/readiness.ts";
import { TcpTransport } from "./transports/tcp.ts";
import type { Acceptor } from "./transports/tls_listener.ts";
import type { Transport, TransportHost } from "./transports/transport.ts";
import type { HttpHandler } from "./transports/http_handler.ts";
import { webTransport } from "./transports/web.ts";
import type { Bus } from "./delivery/bus.ts";
import { openBus } from "./delivery/open_bus.ts";
import { announceListening } from "./announce.ts";
import { Greeting } from "./greeting.ts";
import { Refusals } from "./refusals.ts";

const log = serverLogger();

/** One running emd: its sessions, features, transports and bus. */
export class Server implements EmServer, FeatureHost, TransportHost {
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
  #refusals: Refusals;
  #sessions = new Set<Session>();
  #running = new Set<Promise<void>>();
  #receivers = new Set<Session>();
  readonly flow: FlowControl;
  readonly counters: Counters = new Counters();
  readonly readiness: Readiness = new Readiness();
  readonly startTimeMs: number = Date.now();
  #handlers: Map<string, CommandHandler>;
  #greeting: Greeting;
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
    this.flow = new FlowControl(limits.maxQueuedBytes / 4, {
      allowanceBytes: limits.stallAllowanceBytes,
      budgetBytes: limits.stallBudgetBytes,
    });
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
    this.#receiveRemote();
    this.#features = FEATURES.map((create) => create(this));
    this.ready = Promise.all([
      this.bus.ready,
      ...this.#features.map((feature) => feature.ready),
      auth?.ready,
    ]).then(() => {});
    this.#handlers = commandTable(this.#features);
    this.#greeting = new Greeting(
      this.#features.flatMap((feature) => feature.helloOptions?.() ?? []),
      auth,
    );
    this.#refusals = new Refusals(this.counters, (task) => this.#track(task));
    this.addr = this.#openTcp(listener);
    this.httpAddr = this.#openHttp(http, options);
    announceListening(this.addr, {
      name: this.name,
      tls: this.options.tls !== undefined,
      secret: auth !== undefined,
    });
  }

  /** Deliveries of plain triggers from other nodes fan out here. */
  #receiveRemote(): void {
    this.bus.onRemote(
      ["plain"],
      (delivery) =>
        delivery.kind === "plain"
          ? this.#fanOutHere(delivery.frame, delivery.lines, delivery.from)
          : 0,
    );
  }

  /** Starts the TCP transport on `listener`; returns its address. */
  #openTcp(listener: Acceptor): Deno.NetAddr {
    const tcp = new TcpTransport(listener, this);
    const addr = tcp.addr;
    this.#transports.push(tcp);
    this.#track(tcp.finished);
    return addr;
  }

  /** Gathers the HTTP handlers and starts the HTTP transport on `http` if any; its address. */
  #openHttp(
    http: Acceptor | undefined,
    options: ServerOptions,
  ): Deno.NetAddr | undefined {
    for (const feature of this.#features) {
      if (feature.serveHttp) this.httpHandlers.push(feature.serveHttp);
    }
    this.httpHandlers.push(...options.http?.handlers ?? []);
    const web = http && webTransport(http, this);
    if (web) {
      this.#transports.push(web);
      this.#track(web.finished);
    }
    return web?.addr;
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
      Date.now(), // the clock Session spends by
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
    this.#refusals.close();
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
      return this.#refusals.refuse(
        connection,
        this.serverLimits.maxConnections,
      );
    }
    const session = new Session(connection, this);
    this.#sessions.add(session);
    log.info("Accepted {peer}", { peer: connection.peer });
    connection.send(this.#greeting.for(session));
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

  #track(task: Promise<void>): void {
    this.#running.add(task);
    task.finally(() => this.#running.delete(task));
  }
}
