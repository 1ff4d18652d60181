import {
  compilePattern,
  DATA_COMMANDS,
  encodeMessage,
  isValidName,
  type JsonValue,
} from "../../protocol/mod.ts";
import type { FeatureHost } from "../feature.ts";
import type { Session } from "../session.ts";
import type { DataDelivery, Delivery } from "../delivery/bus.ts";

/** Where agents log: the server's `em.server.agents` logger (LogTape's `Logger` fits). */
export interface AgentsLog {
  /** Logs an informational record. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs a warning. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Logs an error. */
  error(message: string, properties?: Record<string, unknown>): void;
}
const encoder = new TextEncoder();

/** Receivers that called agents of other nodes (a cluster's `RemoteAgents`). */
export interface RemoteCallers {
  /** This node's receivers among a delivery's `to` keys. */
  receiversOf(keys: readonly string[]): Receiver[];
  /** A receiver of this node went away: the nodes where it subscribed forget it. */
  forget(receiver: Receiver): void;
}

/** A receiver's subscription to one agent event. */
export interface Subscription {
  /** The event's full name. */
  readonly name: string;
  /** Ends the subscription of `receiver`. */
  unsubscribe(receiver: Receiver): void;
}

/** Something that can get data events: a 1.2 connection or an agent. */
export interface Receiver {
  /** Who it is, for log lines and `req.caller`. */
  readonly label: string;
  /** True when it can get events now. */
  canReceive(): boolean;
  /** Delivers one event; false when it could not (closed, message too large for it). */
  deliver(event: EncodedEvent): boolean;
  /** Agent events this receiver is subscribed to, so a close can unsubscribe it. */
  readonly subscriptions: Set<Subscription>;
}

/** An event encoded once for all its receivers. */
export interface EncodedEvent {
  readonly name: string;
  /** The data as JSON text; undefined when the event has no data. */
  readonly json: string | undefined;
  /** The `d` line with its line end. */
  readonly line: Uint8Array;
  /** Who sent it (skipped by broadcasts), if a receiver. */
  readonly sender?: Receiver;
}

/** A connection as a receiver: it gets `d` lines when it speaks 1.2 and set the receive flag. */
export class SessionReceiver implements Receiver {
  readonly label: string;
  readonly subscriptions = new Set<Subscription>();
  readonly session: Session;
  #log: AgentsLog;

  constructor(session: Session, log: AgentsLog) {
    this.session = session;
    this.label = session.peer;
    this.#log = log;
  }

  canReceive(): boolean {
    const { session } = this;
    return (session.hello?.minor ?? 0) >= 2 && session.receiving &&
      !session.connection.isClosed;
  }

  deliver(event: EncodedEvent): boolean {
    if (!this.canReceive()) return false;
    if (event.line.byteLength > this.session.limits.maxLineBytes) {
      this.#log.warn("Skipped {name} for {peer}: over its {max} byte limit", {
        name: event.name,
        peer: this.label,
        max: this.session.limits.maxLineBytes,
      });
      return false;
    }
    this.session.connection.send(event.line);
    return true;
  }
}

/**
 * Where data events go: the receivers of each connection, the name/pattern subscriptions, and
 * delivery that encodes an event once and counts who got it.
 */
export class Hub {
  readonly host: FeatureHost;
  /** Largest `d` line the server sends. */
  readonly maxMessageBytes: number;
  /** Agent receivers (agents with an `onEvent`), for broadcasts. */
  readonly agentReceivers = new Set<Receiver>();
  #sessionReceivers = new WeakMap<Session, SessionReceiver>();
  #selectors = new Map<Receiver, Map<string, (name: string) => boolean>>();

  readonly log: AgentsLog;
  /** Agents of other nodes (a cluster only). */
  remote: RemoteCallers | undefined;
  /** Keys of other nodes' callers a push reached, until it is published (a cluster only). */
  readonly remoteTargets: string[] = [];

  constructor(host: FeatureHost, maxMessageBytes: number, log: AgentsLog) {
    this.host = host;
    this.maxMessageBytes = maxMessageBytes;
    this.log = log;
    host.bus?.onRemote(
      ["trigger", "push", "broadcast"],
      (delivery) => this.#fromRemote(delivery),
    );
  }

  /** An event another node published: served to this node's receivers only. */
  #fromRemote(delivery: Delivery): number {
    if (delivery.kind === "plain") return 0;
    const { name, json, from } = delivery;
    const event = this.encode(name, json);
    if (delivery.kind === "trigger") {
      return this.#triggerHere(event, from, true);
    }
    if (delivery.kind === "push") {
      const direct = delivery.to === undefined || this.remote === undefined
        ? []
        : this.remote.receiversOf(delivery.to);
      return this.#pushHere(event, direct, from, true);
    }
    return this.#broadcastHere(event, from, true);
  }

  /** Sends an event to the other nodes (a cluster's bus); with `count`, their receiver count. */
  #publish(
    kind: DataDelivery["kind"],
    event: EncodedEvent,
    from: string,
    count = false,
  ): Promise<number> | undefined {
    const bus = this.host.bus;
    if (bus === undefined || !bus.clustered) return undefined;
    const targets = this.remoteTargets;
    const delivery: DataDelivery = targets.length === 0
      ? { kind, name: event.name, json: event.json, from }
      : {
        kind,
        name: event.name,
        json: event.json,
        from,
        to: targets.splice(0),
      };
    return bus.publish(delivery, count);
  }

  /** The receiver standing for a connection (made on first use). */
  receiverOf(session: Session): SessionReceiver {
    let receiver = this.#sessionReceivers.get(session);
    if (receiver === undefined) {
      receiver = new SessionReceiver(session, this.log);
      this.#sessionReceivers.set(session, receiver);
    }
    return receiver;
  }

  /** Adds a name or pattern subscription; twice is once. @throws {TypeError} for a bad pattern */
  addSelector(receiver: Receiver, pattern: string): void {
    const matches = compilePattern(pattern);
    let selectors = this.#selectors.get(receiver);
    if (selectors === undefined) {
      selectors = new Map();
      this.#selectors.set(receiver, selectors);
    }
    selectors.set(pattern, matches);
  }

  /** How many name or pattern subscriptions a receiver holds, `pattern` not counted. */
  selectorsBesides(receiver: Receiver, pattern: string): number {
    const selectors = this.#selectors.get(receiver);
    if (selectors === undefined) return 0;
    return selectors.size - (selectors.has(pattern) ? 1 : 0);
  }

  /** Removes a name or pattern subscription. */
  removeSelector(receiver: Receiver, pattern: string): void {
    const selectors = this.#selectors.get(receiver);
    selectors?.delete(pattern);
    if (selectors?.size === 0) this.#selectors.delete(receiver);
  }

  /** Forgets everything about a receiver that went away. */
  forget(receiver: Receiver): void {
    this.remote?.forget(receiver);
    this.#selectors.delete(receiver);
    this.agentReceivers.delete(receiver);
    for (const subscription of [...receiver.subscriptions]) {
      subscription.unsubscribe(receiver);
    }
  }

  /**
   * Encodes a data event once.
   * @throws {RangeError} when the `d` line is over the server's message limit
   */
  encode(
    name: string,
    json: string | undefined,
    sender?: Receiver,
  ): EncodedEvent {
    const params = json === undefined ? [name] : [name, json];
    const line = encoder.encode(
      encodeMessage({ letter: DATA_COMMANDS.DATA, params }) + "\n",
    );
    if (line.byteLength > this.maxMessageBytes) {
      throw new RangeError(
        `Cannot send event "${name}": ${line.byteLength} bytes, over the ${this.maxMessageBytes} byte message limit`,
      );
    }
    return { name, json, line, ...(sender ? { sender } : {}) };
  }

  /**
   * Delivers to `direct` receivers and to every matching subscription.
   * @returns how many got it on this node (other nodes' callers subscribed here included)
   */
  push(event: EncodedEvent, direct: Iterable<Receiver> = []): number {
    const from = agentOf(event);
    const count = this.#pushHere(event, direct, from);
    this.#publish("push", event, from);
    return count;
  }

  /**
   * {@link Hub.push}, counted over every live node of a cluster (bounded wait, as `t`'s count).
   * @throws {EmError} code "closed" when the link to the other nodes is down
   */
  pushCounted(
    event: EncodedEvent,
    direct: Iterable<Receiver>,
  ): Promise<number> {
    const from = agentOf(event);
    const count = this.#pushHere(event, direct, from);
    const elsewhere = this.remoteTargets.length; // counted by their own nodes
    const remote = this.#publish("push", event, from, true);
    return remote === undefined
      ? Promise.resolve(count)
      : remote.then((more) => count - elsewhere + more);
  }

  #pushHere(
    event: EncodedEvent,
    direct: Iterable<Receiver>,
    from: string,
    remote = false,
  ): number {
    const targets = new Set(direct);
    this.#addMatching(event.name, targets);
    return this.#counted(event, deliverAll(event, targets), from, remote);
  }

  /** How many receivers hold each name or pattern subscription. */
  subscriptionCounts(): { pattern: string; receivers: number }[] {
    const counts = new Map<string, number>();
    for (const selectors of this.#selectors.values()) {
      for (const pattern of selectors.keys()) {
        counts.set(pattern, (counts.get(pattern) ?? 0) + 1);
      }
    }
    return [...counts].map(([pattern, receivers]) => ({ pattern, receivers }));
  }

  /** Delivers to every receiving 1.2 connection and every agent but the sender, on this node. */
  broadcast(event: EncodedEvent): number {
    const from = agentOf(event);
    const count = this.#broadcastHere(event, from);
    this.#publish("broadcast", event, from);
    return count;
  }

  /**
   * {@link Hub.broadcast}, counted over every live node of a cluster (bounded wait).
   * @throws {EmError} code "closed" when the link to the other nodes is down
   */
  broadcastCounted(event: EncodedEvent): Promise<number> {
    const from = agentOf(event);
    const count = this.#broadcastHere(event, from);
    const remote = this.#publish("broadcast", event, from, true);
    return remote === undefined
      ? Promise.resolve(count)
      : remote.then((more) => count + more);
  }

  #broadcastHere(event: EncodedEvent, from: string, remote = false): number {
    const targets = new Set<Receiver>();
    for (const session of this.host.sessions) {
      targets.add(this.receiverOf(session));
    }
    for (const agent of this.agentReceivers) targets.add(agent);
    if (event.sender !== undefined) targets.delete(event.sender);
    return this.#counted(event, deliverAll(event, targets), from, remote);
  }

  /**
   * A client's trigger with data: matching subscribers get the `d` line; every other receiving
   * connection gets a plain `T<name>` when the name is a valid 1.1 name. One message per receiver.
   * @returns how many got it; in a cluster, a promise of the count over every live node
   */
  trigger(event: EncodedEvent, from = "server"): number | Promise<number> {
    const count = this.#triggerHere(event, from);
    const remote = this.#publish("trigger", event, from, true);
    return remote === undefined ? count : remote.then((more) => count + more);
  }

  #triggerHere(event: EncodedEvent, from: string, remote = false): number {
    const targets = new Set<Receiver>();
    this.#addMatching(event.name, targets);
    let count = deliverAll(event, targets);
    if (!isValidName(event.name)) {
      return this.#counted(event, count, from, remote);
    }
    const plain = encoder.encode(`T${event.name}\n`);
    for (const session of this.host.sessions) {
      if (!session.receiving || session.connection.isClosed) continue;
      const receiver = this.#sessionReceivers.get(session);
      if (receiver !== undefined && targets.has(receiver)) continue;
      session.connection.send(plain);
      count++;
    }
    return this.#counted(event, count, from, remote);
  }

  /**
   * Counts one event sent to `count` receivers (a trigger only on the node it was sent to, not
   * `remote`ly) and shows it to the tap; returns `count`.
   */
  #counted(
    event: EncodedEvent,
    count: number,
    from: string,
    remote: boolean,
  ): number {
    const counters = this.host.counters;
    if (counters === undefined || event.name.startsWith("emd/")) return count; // emd's reports
    if (!remote) counters.triggers++;
    counters.deliveries += count;
    if (counters.tap.active) {
      counters.tap.data(event.name, event.json, from, count);
    }
    return count;
  }

  #addMatching(name: string, targets: Set<Receiver>): void {
    for (const [receiver, selectors] of this.#selectors) {
      if (targets.has(receiver)) continue;
      for (const matches of selectors.values()) {
        if (matches(name)) {
          targets.add(receiver);
          break;
        }
      }
    }
  }
}

/** Who made an agent's event: its sender, else the agent whose API prefixes the name. */
function agentOf(event: EncodedEvent): string {
  return event.sender?.label ?? `agent:${event.name.split("/")[0]}`;
}

function deliverAll(event: EncodedEvent, targets: Set<Receiver>): number {
  let count = 0;
  for (const receiver of targets) if (receiver.deliver(event)) count++;
  return count;
}

/** Parses the JSON of an event again for an agent, so agents never share mutable data. */
export function dataOf(event: EncodedEvent): JsonValue | undefined {
  return event.json === undefined
    ? undefined
    : JSON.parse(event.json) as JsonValue;
}
