import type { SyncReply, SyncRequest } from "../../protocol/mod.ts";
import type { Readiness } from "../metrics/readiness.ts";
import type { SyncStats } from "../metrics/stats.ts";
import type { ServerOptions } from "../server_options.ts";
import type { ClusterLinkStats } from "../metrics/stats.ts";

/**
 * Delivery between nodes: where an event goes beyond this process. One emd has a {@link LocalBus}
 * (nowhere); `emd --cluster` a NATS bus (server/delivery/nats_bus.ts, loaded only then). Features
 * and sessions never see which: the server's fan-out and the agents' hub publish every event here
 * after serving their own receivers, and serve what other nodes published.
 */

/** Plain `T<name>\n` lines (1.1 triggers, latched triggers), the same bytes every receiver gets. */
export interface PlainDelivery {
  readonly kind: "plain";
  /** Whole `T<name>\n` lines. */
  readonly frame: Uint8Array;
  /** How many lines `frame` holds. */
  readonly lines: number;
  /** Who sent it, for counters and the event tap (a peer, or `node:<id>` once remote). */
  readonly from: string;
}

/** An event with a name that may carry JSON data (1.2 `t`, an agent's push or broadcast). */
export interface DataDelivery {
  /**
   * "trigger": a client's `t` (subscribers get `d`, other receiving connections `T<name>`);
   * "push": an agent event to its subscribers; "broadcast": to every 1.2 receiver and agent.
   */
  readonly kind: "trigger" | "push" | "broadcast";
  /** The event's name. */
  readonly name: string;
  /** Its data as JSON text, if any. */
  readonly json: string | undefined;
  /** Who sent it, for counters and the event tap. */
  readonly from: string;
  /**
   * A push's receivers on other nodes that subscribed through a call of the agent
   * (`<node>/<caller>` keys, see {@link ClusterCalls}); each node serves its own.
   */
  readonly to?: readonly string[];
}

/** One event on its way to receivers of other nodes. */
export type Delivery = PlainDelivery | DataDelivery;

/** Serves a delivery from another node to this node's receivers; returns how many got it. */
export type RemoteHandler = (delivery: Delivery) => number;

/** Where a delivery goes beyond this process: nowhere for one emd, a NATS cluster for several. */
export interface Bus {
  /** Settles once the bus can carry deliveries; a rejection stops the server's start. */
  readonly ready: Promise<void>;
  /** True when deliveries reach other nodes (emd `--cluster`). */
  readonly clustered: boolean;
  /**
   * Sends a delivery to the other nodes; this node's receivers were already served. Never waits.
   * @returns undefined, or with `count` the number of receivers the other nodes served (bounded wait)
   */
  publish(delivery: Delivery, count?: boolean): Promise<number> | undefined;
  /** Registers the handler of deliveries from other nodes (one per kind of delivery). */
  onRemote(kinds: readonly Delivery["kind"][], handler: RemoteHandler): void;
  /**
   * Latched events kept for the whole cluster (absent for one emd: the sync feature keeps its own).
   * Undefined until the bus is ready.
   */
  readonly latches?: ClusterLatches;
  /**
   * Agent calls between nodes (absent for one emd: only local agents exist). Undefined until the
   * bus is ready.
   */
  readonly calls?: ClusterCalls;
  /**
   * Locks, semaphores, leases and barriers kept for the whole cluster (absent for one emd: the sync
   * feature keeps its own). Undefined until the bus is ready.
   */
  readonly holds?: ClusterHolds;
  /** The link's figures for reports and `/metrics` (absent for one emd). */
  stats?(): ClusterLinkStats;
  /** Stops carrying deliveries; resolves once the link is closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Latched events shared by every node of a cluster, in a replicated store: each method settles
 * once the store has answered.
 * @throws {EmError} code "closed" when the store cannot be reached (e.g. the link is down)
 */
export interface ClusterLatches {
  /** Latches `name`; resolves once stored. */
  set(name: string): Promise<void>;
  /** Resets `name`; resolves once stored. */
  clear(name: string): Promise<void>;
  /** The first of `names` that is latched, or undefined. */
  firstSet(names: readonly string[]): Promise<string | undefined>;
}

/** A call of an agent's verb sent to a node that hosts the verb's API. */
export interface RemoteCall {
  /** The full verb, `api/verb`. */
  readonly verb: string;
  /** The arguments as JSON text; undefined when none were sent. */
  readonly args: string | undefined;
  /**
   * Who calls, as `<node>/<id>`: the key that later deliveries to it carry (`DataDelivery.to`).
   * Undefined for a caller that cannot ever receive (an agent without `onEvent`).
   */
  readonly caller: string | undefined;
  /** The caller's label on its own node (`req.caller`): its peer, or `agent:<api>`. */
  readonly label: string;
  /** True when the caller could receive events at the time of the call. */
  readonly canReceive: boolean;
}

/** What a verb answered: its data as JSON text, or a failure code and message. */
export type CallAnswer =
  | { readonly json: string }
  | { readonly failure: string; readonly message: string };

/**
 * Agent calls between the nodes of a cluster: every node serves the APIs it hosts; a node that
 * does not host an API sends the call to one that does and waits for the answer (docs/CLUSTER.md).
 */
export interface ClusterCalls {
  /** This node's id, the first part of its callers' keys. */
  readonly nodeId: string;
  /**
   * Serves calls of `apis` from other nodes (several nodes hosting one API share its calls).
   * Resolves once the NATS server has the subscriptions.
   */
  serve(
    apis: readonly string[],
    handler: (call: RemoteCall) => Promise<CallAnswer>,
  ): Promise<void>;
  /**
   * Runs a call on a node hosting the verb's API.
   * @returns the answer; failure "unknown-verb" when no node hosts the API
   * @throws {EmError} code "closed" when the link is down, no node took the call in time, or the
   * node running it left the cluster before answering
   */
  call(call: RemoteCall): Promise<CallAnswer>;
  /** Tells every node that the caller `<node>/<id>` went away (its subscriptions end). */
  forgetCaller(key: string): void;
  /**
   * Registers what to do when callers go away: `key` is a caller's `<node>/<id>`, or `<node>/`
   * for every caller of a node that left the cluster.
   */
  onCallerGone(handler: (key: string) => void): void;
}

/** Whoever holds or waits through this node (a session), as the cluster's holds see it. */
export interface SyncOwner {
  /** `host:port` of the peer, for logs. */
  readonly peer: string;
  /** Answers one of the owner's requests, at once or after it waited. */
  answer(reply: SyncReply): void;
  /** Ends the owner's connection telling it why: the node can no longer vouch for its holds. */
  revoke(text: string): void;
}

/** A sync request about locks, semaphores, leases or barriers. */
export type HoldRequest = Extract<
  SyncRequest,
  { kind: "acquire" | "release" | "renew" | "barrier" | "withdraw" }
>;

/**
 * Locks, semaphores, leases and barriers shared by every node of a cluster (docs/CLUSTER.md).
 * Every answer goes through {@link SyncOwner.answer}; a request the store cannot take is answered
 * with the error `closed`, never with a guess.
 */
export interface ClusterHolds {
  /** Runs one request of `owner`; answers now or once it was granted or released. */
  request(owner: SyncOwner, request: HoldRequest): void;
  /** The owner's connection ended: its bound holds, waits and arrivals are released. */
  drop(owner: SyncOwner): void;
  /**
   * The cluster's locks, semaphores, leases and barriers as this node last saw them; holders and
   * waiters of this node by peer, others as `<node>#<connection>`.
   */
  report(): Omit<SyncStats, "latches">;
}

/** The bus of a single emd: there are no other nodes, so nothing is sent or received. */
export class LocalBus implements Bus {
  readonly ready: Promise<void> = Promise.resolve();
  readonly clustered = false;

  publish(): undefined {
    return undefined;
  }

  onRemote(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What a bus needs from its server. */
export interface BusHost {
  /** The server's name: nodes with the same name share one event space. */
  readonly name: string;
  /** The server's options (`cluster` picks the bus). */
  readonly options: ServerOptions;
  /** Where the bus says whether it is connected. */
  readonly readiness: Readiness;
  /** Where the bus logs (the server's `em.server.cluster` logger). */
  readonly clusterLog: BusLog;
}

/** The logger a bus writes to (LogTape's `Logger` fits). */
export interface BusLog {
  /** An informational record. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** A warning. */
  warn(message: string, properties?: Record<string, unknown>): void;
}
