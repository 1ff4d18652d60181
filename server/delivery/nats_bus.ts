import { EmError } from "../../protocol/mod.ts";
import type { Bus, BusHost, BusLog, Delivery, RemoteHandler } from "./bus.ts";
import type { ClusterLinkStats } from "../metrics/stats.ts";
import type { ClusterOptions } from "./cluster_options.ts";
import {
  connect,
  credsAuthenticator,
  type Msg,
  type NatsConnection,
} from "./_nats.ts";
import { NodeTable } from "./node_table.ts";
import { NatsLatches } from "./nats_latches.ts";
import { NatsCalls } from "./nats_calls.ts";
import { NatsHolds } from "./nats_holds.ts";
import {
  BATCH_BYTES,
  decodeDelivery,
  encodeBatch,
  encodeDelivery,
  splitBatch,
} from "./delivery_codec.ts";

/**
 * Delivery between emd nodes over NATS core pub/sub (docs/CLUSTER.md): one subject per event space
 * carries every delivery of every node in each publisher's order; heartbeats tell who is alive so
 * that a receiver count waits for exactly the live nodes, bounded.
 */
export class NatsBus implements Bus {
  readonly ready: Promise<void>;
  readonly clustered = true;
  readonly nodeId: string;
  #subjects: { events: string; nodes: string; counts: string };
  #handlers = new Map<Delivery["kind"], RemoteHandler>();
  #nc: NatsConnection | undefined;
  #connected = false;
  #nodes: NodeTable;
  #counts = new Map<number, PendingCount>();
  #nextCount = 0;
  #options: ClusterOptions;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  #readiness: Disposable;
  #log: BusLog;
  #name: string;
  /** Latched events of the cluster, once the bucket is open. */
  latches: NatsLatches | undefined;
  /** Agent calls between nodes, once connected. */
  calls: NatsCalls | undefined;
  #live = new Set<string>();
  /** Locks, semaphores, leases and barriers of the cluster, once their bucket is open. */
  holds: NatsHolds | undefined;
  #reconnects = 0;
  #deliveriesOut = 0;
  #deliveriesIn = 0;
  /** Deliveries of this task, published together at its end (one NATS message). */
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #batching: boolean;

  constructor(host: BusHost) {
    const options = this.#options = host.options.cluster!;
    this.#log = host.clusterLog;
    this.#name = host.name;
    this.nodeId = options.nodeId ?? crypto.randomUUID().slice(0, 8);
    const base = `em.${host.name}`;
    this.#subjects = {
      events: `${base}.events`,
      nodes: `${base}.nodes`,
      counts: `${base}.counts.${this.nodeId}`,
    };
    this.#batching = options.batch ?? true;
    this.#nodes = new NodeTable((options.heartbeatMs ?? 1000) * 3.5);
    this.#readiness = host.readiness.add(
      "cluster",
      () => this.#connected ? undefined : "not connected to the NATS cluster",
    );
    this.ready = this.#start();
  }

  async #start(): Promise<void> {
    const options = this.#options;
    const nc = this.#nc = await connect({
      servers: [...options.servers],
      name: `emd ${this.nodeId}`,
      noEcho: true, // a node never gets its own deliveries back
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 2_000,
      maxPingOut: 2,
      ...(options.user === undefined
        ? {}
        : { user: options.user, pass: options.password }),
      ...(options.credsFile === undefined ? {} : {
        authenticator: credsAuthenticator(
          await Deno.readFile(options.credsFile),
        ),
      }),
      ...(options.tlsCaFile === undefined
        ? {}
        : { tls: { caFile: options.tlsCaFile } }),
    }).catch((error: Error) => {
      throw new EmError(
        "connect",
        `Cannot join the cluster at "${
          options.servers.join(",")
        }": ${error.message}`,
        { cause: error },
      );
    });
    this.#connected = true;
    try {
      const openMs = options.openTimeoutMs ?? OPEN_TIMEOUT_MS;
      this.latches = await opening(
        openMs,
        () =>
          NatsLatches.open(nc, this.#name, {
            replicas: options.replicas ?? 3,
            connected: () => this.#connected,
          }),
      );
      this.holds = await opening(openMs, () =>
        NatsHolds.open(nc, {
          serverName: this.#name,
          nodeId: this.nodeId,
          replicas: options.replicas ?? 3,
          heartbeatMs: options.heartbeatMs ?? 1000,
          connected: () => this.#connected,
          log: this.#log,
        }));
    } catch (error) {
      await nc.close();
      throw new EmError(
        "connect",
        `Cannot join the cluster at "${
          options.servers.join(",")
        }": cannot open its JetStream bucket: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.calls = new NatsCalls(nc, {
      base: `em.${this.#name}`,
      nodeId: this.nodeId,
      acceptTimeoutMs: options.countTimeoutMs ?? 1000,
      nodeTtlMs: (options.heartbeatMs ?? 1000) * 3.5,
      connected: () => this.#connected,
      log: this.#log,
    });
    nc.subscribe(this.#subjects.events, {
      callback: (_, msg) => this.#onEvent(msg),
    });
    nc.subscribe(this.#subjects.nodes, {
      callback: (_, msg) => this.#onNode(msg),
    });
    nc.subscribe(`${this.#subjects.counts}.*`, {
      callback: (_, msg) => this.#onCount(msg),
    });
    this.#sayAlive("?"); // "?": every node answers with its own heartbeat at once
    this.#heartbeat = setInterval(
      () => this.#tick(),
      options.heartbeatMs ?? 1000,
    );
    await nc.flush();
    void this.#watchStatus(nc);
    this.#log.info("Joined the cluster at {servers} as node {node}", {
      servers: options.servers.join(","),
      node: this.nodeId,
    });
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        this.#connected = false;
        this.calls?.failAll("the link to the NATS cluster dropped");
        this.#log.warn("Lost the link to the NATS cluster; reconnecting");
      } else if (status.type === "reconnect") {
        this.#connected = true;
        this.#reconnects++;
        this.#sayAlive("?");
        this.#log.info("Link to the NATS cluster restored");
      }
    }
  }

  /** Every heartbeat: say this node is alive, and give up on nodes unheard for too long. */
  #tick(): void {
    this.#sayAlive("+");
    const nowMs = Date.now(), live = this.#nodes.live(nowMs);
    const left = [...this.#live].filter((node) => !live.has(node));
    this.#live = live;
    this.calls?.check(live, left, nowMs);
  }

  #sayAlive(mark: "?" | "+" | "-"): void {
    if (!this.#connected) return;
    this.#nc?.publish(this.#subjects.nodes, mark + this.nodeId);
  }

  #onNode(msg: Msg): void {
    const text = msg.string(), mark = text[0], node = text.slice(1);
    if (mark === "-") {
      this.#nodes.forget(node);
      this.#live.delete(node);
      return this.calls?.nodeLeft(node);
    }
    this.#nodes.seen(node, Date.now());
    if (mark === "?") this.#sayAlive("+");
  }

  stats(): ClusterLinkStats {
    return {
      connected: this.#connected,
      reconnects: this.#reconnects,
      deliveriesOut: this.#deliveriesOut,
      deliveriesIn: this.#deliveriesIn,
    };
  }

  onRemote(kinds: readonly Delivery["kind"][], handler: RemoteHandler): void {
    for (const kind of kinds) this.#handlers.set(kind, handler);
  }

  publish(delivery: Delivery, count = false): Promise<number> | undefined {
    const nc = this.#nc;
    if (nc === undefined || this.#closing !== undefined) return undefined;
    const payload = encodeDelivery(delivery, this.nodeId);
    if (!count) {
      if (this.#connected) this.#send(payload);
      return undefined;
    }
    if (!this.#connected) {
      return Promise.reject(
        new EmError(
          "closed",
          "Cannot reach the other nodes: not connected to the NATS cluster (only this node's receivers got the event)",
        ),
      );
    }
    const seq = this.#nextCount++;
    const pending = new PendingCount(
      this.#nodes.live(Date.now()),
      this.#options.countTimeoutMs ?? 1000,
      () => this.#counts.delete(seq),
    );
    this.#counts.set(seq, pending);
    this.#flush(); // what this task published before goes first
    nc.publish(this.#subjects.events, payload, {
      reply: `${this.#subjects.counts}.${seq}`,
    });
    this.#deliveriesOut++;
    return pending.result;
  }

  /**
   * Publishes a delivery at the end of this task, with the others this task publishes (at once
   * past {@link BATCH_BYTES}): one NATS message, parsed once, for a burst of publishers.
   */
  #send(payload: Uint8Array): void {
    this.#deliveriesOut++;
    if (!this.#batching) {
      return this.#nc!.publish(this.#subjects.events, payload);
    }
    this.#outbox.push(payload);
    this.#outboxBytes += payload.length;
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
    else if (this.#outboxBytes >= BATCH_BYTES) this.#flush();
  }

  #flush(): void {
    const outbox = this.#outbox;
    if (outbox.length === 0) return;
    this.#outbox = [];
    const bytes = this.#outboxBytes;
    this.#outboxBytes = 0;
    if (!this.#connected || this.#nc!.isClosed()) return; // lost, like any delivery then
    this.#nc!.publish(
      this.#subjects.events,
      outbox.length === 1 ? outbox[0]! : encodeBatch(outbox, bytes),
    );
  }

  #onEvent(msg: Msg): void {
    const payloads = splitBatch(msg.data);
    for (const payload of payloads ?? [undefined]) {
      const delivery = payload && decodeDelivery(payload);
      if (delivery === undefined) {
        this.#log.warn("Dropped a malformed message on {subject}", {
          subject: msg.subject,
        });
        continue;
      }
      this.#deliveriesIn++;
      const count = this.#handlers.get(delivery.kind)?.(delivery) ?? 0;
      if (msg.reply) this.#nc?.publish(msg.reply, `${this.nodeId} ${count}`);
    }
  }

  #onCount(msg: Msg): void {
    const seq = Number(msg.subject.slice(msg.subject.lastIndexOf(".") + 1));
    const [node = "", count = "0"] = msg.string().split(" ");
    this.#counts.get(seq)?.add(node, Number(count));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.ready.catch(() => {});
    clearInterval(this.#heartbeat);
    this.#readiness[Symbol.dispose]();
    for (const pending of this.#counts.values()) pending.finish();
    this.calls?.failAll("this node is leaving the cluster");
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) return; // never joined: its start closed the link
    this.#flush(); // what this task published goes out before the node leaves
    await this.holds?.close();
    this.#sayAlive("-");
    await nc.drain().catch(() => nc.close());
    await nc.closed();
    this.#log.info("Left the cluster");
  }
}

/** How long a node keeps trying to open its JetStream buckets at start, by default. */
const OPEN_TIMEOUT_MS = 15_000;

/**
 * Opens a bucket, trying again for {@link OPEN_TIMEOUT_MS}: nodes starting together on a fresh
 * cluster race to create the same streams, and one of them can time out while JetStream settles.
 */
async function opening<T>(
  timeoutMs: number,
  open: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1;; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** The receiver counts of one counted delivery, until every node expected answered or the time is up. */
class PendingCount {
  readonly result: Promise<number>;
  #waiting: Set<string>;
  #sum = 0;
  #resolve!: (sum: number) => void;
  #timer: ReturnType<typeof setTimeout>;
  #done: () => void;

  constructor(expected: Set<string>, timeoutMs: number, done: () => void) {
    this.#waiting = expected;
    this.#done = done;
    this.result = new Promise((resolve) => this.#resolve = resolve);
    this.#timer = setTimeout(() => this.finish(), timeoutMs);
    if (expected.size === 0) this.finish();
  }

  add(node: string, count: number): void {
    this.#sum += count;
    this.#waiting.delete(node);
    if (this.#waiting.size === 0) this.finish();
  }

  finish(): void {
    clearTimeout(this.#timer);
    this.#done();
    this.#resolve(this.#sum);
  }
}
