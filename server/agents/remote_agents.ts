import {
  CallError,
  FAILURES,
  jsonParam,
  type JsonValue,
} from "../../protocol/mod.ts";
import type { Bus, CallAnswer, RemoteCall } from "../delivery/bus.ts";
import type {
  EncodedEvent,
  Hub,
  Receiver,
  RemoteCallers,
  Subscription,
} from "./hub.ts";

/** The failure code of a call whose node could not answer (link down, node gone, nobody took it). */
export const UNAVAILABLE = "unavailable";

/** What runs a verb on this node (the agents' registry). */
export interface LocalCalls {
  /** The API names hosted here that other nodes may call. */
  apis(): string[];
  /** Runs a verb of an agent hosted here. @throws {CallError} */
  callHere(
    verb: string,
    args: JsonValue | undefined,
    caller: Receiver | undefined,
    callerLabel: string,
  ): Promise<JsonValue>;
}

/**
 * Agents of a cluster's other nodes (docs/CLUSTER.md): a call of an API this node does not host
 * goes to a node that does; calls from other nodes run here, their callers stood for by a
 * {@link RemoteCaller} so that `req.subscribe` works for them; a push names those callers in the
 * delivery (`to`) and their own node serves them.
 */
export class RemoteAgents implements RemoteCallers {
  #hub: Hub;
  #bus: Bus;
  /** This node's receivers that called another node, by key, and back. */
  #keys = new Map<Receiver, string>();
  #callers = new Map<string, Receiver>();
  /** Callers of other nodes that subscribed here, by key. */
  #proxies = new Map<string, RemoteCaller>();
  #nextId = 0;

  constructor(hub: Hub, bus: Bus) {
    this.#hub = hub;
    this.#bus = bus;
  }

  /** Serves this node's APIs to the other nodes once the bus is ready. */
  async serve(local: LocalCalls): Promise<void> {
    await this.#bus.ready;
    const calls = this.#bus.calls;
    if (calls === undefined) return;
    calls.onCallerGone((key) => this.#gone(key));
    await calls.serve(local.apis(), (call) => this.#run(local, call));
  }

  /**
   * Runs a verb on a node that hosts its API.
   * @throws {CallError} the verb's failure; "unknown-verb" when no node hosts it; "unavailable"
   * when the link is down or the node running it left before answering
   */
  async call(
    verb: string,
    args: JsonValue | undefined,
    caller: Receiver | undefined,
    callerLabel: string,
  ): Promise<JsonValue> {
    const calls = this.#bus.calls;
    if (calls === undefined) {
      throw new CallError(FAILURES.UNKNOWN_VERB, `No verb "${verb}"`);
    }
    const answer = await calls.call({
      verb,
      args: jsonParam(args),
      caller: caller === undefined ? undefined : this.#keyOf(caller, calls),
      label: callerLabel,
      canReceive: caller?.canReceive() ?? false,
    }).catch((error: Error) => {
      throw new CallError(UNAVAILABLE, error.message);
    });
    if ("failure" in answer) {
      throw new CallError(answer.failure, answer.message);
    }
    return JSON.parse(answer.json) as JsonValue;
  }

  #keyOf(caller: Receiver, calls: { nodeId: string }): string {
    let key = this.#keys.get(caller);
    if (key === undefined) {
      key = `${calls.nodeId}/${(this.#nextId++).toString(36)}`;
      this.#keys.set(caller, key);
      this.#callers.set(key, caller);
    }
    return key;
  }

  async #run(local: LocalCalls, call: RemoteCall): Promise<CallAnswer> {
    const key = call.caller;
    const node = key?.slice(0, key.indexOf("/"));
    const label = node === undefined ? call.label : `${call.label}@${node}`;
    const proxy = key === undefined ? undefined : this.#proxyOf(key, label);
    proxy?.mayReceive(call.canReceive);
    try {
      const args = call.args === undefined
        ? undefined
        : JSON.parse(call.args) as JsonValue;
      const data = await local.callHere(call.verb, args, proxy, label);
      return { json: JSON.stringify(data) };
    } catch (error) {
      return {
        failure: error instanceof CallError ? error.failure : FAILURES.FAILED,
        message: (error as Error)?.message ?? String(error),
      };
    } finally {
      if (proxy?.subscriptions.size === 0) this.#proxies.delete(key!);
    }
  }

  #proxyOf(key: string, label: string): RemoteCaller {
    let proxy = this.#proxies.get(key);
    if (proxy === undefined) {
      proxy = new RemoteCaller(key, label, this.#hub.remoteTargets);
      this.#proxies.set(key, proxy);
    }
    return proxy;
  }

  /** This node's receivers among a delivery's `to` keys. */
  receiversOf(keys: readonly string[]): Receiver[] {
    const receivers: Receiver[] = [];
    for (const key of keys) {
      const receiver = this.#callers.get(key);
      if (receiver !== undefined) receivers.push(receiver);
    }
    return receivers;
  }

  /** A receiver of this node went away: the nodes where it subscribed forget it. */
  forget(receiver: Receiver): void {
    const key = this.#keys.get(receiver);
    if (key === undefined) return;
    this.#keys.delete(receiver);
    this.#callers.delete(key);
    this.#bus.calls?.forgetCaller(key);
  }

  /** A caller of another node (`<node>/<id>`), or all callers of a node (`<node>/`), went away. */
  #gone(key: string): void {
    const proxies = key.endsWith("/")
      ? [...this.#proxies].filter(([k]) => k.startsWith(key))
      : [[key, this.#proxies.get(key)] as const];
    for (const [k, proxy] of proxies) {
      if (proxy === undefined) continue;
      this.#proxies.delete(k);
      this.#hub.forget(proxy);
    }
  }
}

/**
 * A caller of another node, on the node running its call: subscriptions made for it
 * (`req.subscribe`) hold it; a delivery to it adds its key to the push's `to` list.
 */
class RemoteCaller implements Receiver {
  readonly label: string;
  readonly subscriptions = new Set<Subscription>();
  readonly key: string;
  #canReceive = false;
  #targets: string[];

  constructor(key: string, label: string, targets: string[]) {
    this.key = key;
    this.label = label;
    this.#targets = targets;
  }

  /** What the caller's node said at its latest call. */
  mayReceive(canReceive: boolean): void {
    this.#canReceive = canReceive;
  }

  canReceive(): boolean {
    return this.#canReceive;
  }

  deliver(_event: EncodedEvent): boolean {
    if (!this.#canReceive) return false;
    this.#targets.push(this.key);
    return true;
  }
}
