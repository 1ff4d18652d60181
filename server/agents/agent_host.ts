import {
  CallError,
  FAILURES,
  isValidExtendedName,
  jsonParam,
  type JsonValue,
} from "../../protocol/mod.ts";
import {
  type Agent,
  type AgentContext,
  type AgentEvent,
  type AgentRequest,
  EventDroppedError,
} from "./agent.ts";
import {
  type AgentsLog,
  dataOf,
  type EncodedEvent,
  type Hub,
  type Receiver,
  type Subscription,
} from "./hub.ts";
import type { LocalCalls, RemoteAgents } from "./remote_agents.ts";
import { EMD_API } from "../metrics/emd_agent.ts";
const FAILURE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/** The agents of one server, by API name, and the verb dispatcher they share with connections. */
export class AgentRegistry implements LocalCalls {
  readonly hub: Hub;
  readonly hosts = new Map<string, AgentHost>();
  /** Agents of the cluster's other nodes: calls of APIs not hosted here go there. */
  remote: RemoteAgents | undefined;

  constructor(hub: Hub, agents: readonly Agent[]) {
    this.hub = hub;
    for (const agent of agents) {
      this.hosts.set(agent.api, new AgentHost(agent, this));
    }
  }

  /**
   * Runs a verb for a caller, here or, in a cluster, on a node hosting its API.
   * @returns the reply data
   * @throws {CallError} for an unknown verb, a failed or throwing verb
   */
  call(
    verb: string,
    args: JsonValue | undefined,
    caller: Receiver | undefined,
    callerLabel: string,
  ): Promise<JsonValue> {
    const remote = this.remote;
    if (
      remote !== undefined && !this.hosts.has(verb.slice(0, verb.indexOf("/")))
    ) {
      return remote.call(verb, args, caller, callerLabel);
    }
    return this.callHere(verb, args, caller, callerLabel);
  }

  /** The APIs other nodes may call here (emd's own agent is every node's own). */
  apis(): string[] {
    return [...this.hosts.keys()].filter((api) => api !== EMD_API);
  }

  /**
   * Runs a verb of an agent hosted here.
   * @throws {CallError} for an unknown verb, a failed or throwing verb
   */
  async callHere(
    verb: string,
    args: JsonValue | undefined,
    caller: Receiver | undefined,
    callerLabel: string,
  ): Promise<JsonValue> {
    const slash = verb.indexOf("/");
    const host = this.hosts.get(verb.slice(0, slash));
    const name = verb.slice(slash + 1);
    const handler = slash > 0 && host !== undefined &&
        Object.hasOwn(host.agent.verbs, name)
      ? host.agent.verbs[name]
      : undefined;
    if (host === undefined || handler === undefined) {
      throw new CallError(FAILURES.UNKNOWN_VERB, `No verb "${verb}"`);
    }
    const request = new Request(verb, args ?? null, caller, callerLabel);
    try {
      const returned = await handler(request, host);
      if (!request.answered) request.reply(returned as JsonValue);
    } catch (error) {
      if (!request.answered) {
        const failure = error instanceof CallError
          ? error.failure
          : FAILURES.FAILED;
        this.hub.log.warn("Verb {verb} failed for {caller}: {error}", {
          verb,
          caller: callerLabel,
          error: (error as Error)?.message ?? String(error),
        });
        request.fail(failure, (error as Error)?.message ?? String(error));
      }
    }
    return request.outcome();
  }

  /** Runs every agent's init; rejects naming the first agent that failed. */
  async init(): Promise<void> {
    for (const host of this.hosts.values()) {
      try {
        await host.agent.init?.(host);
      } catch (error) {
        throw new Error(
          `Cannot start agent "${host.agent.api}": ${
            (error as Error)?.message ?? error
          }`,
          { cause: error },
        );
      }
    }
  }

  /** Runs every agent's stop and drops their events; never throws. */
  async stop(): Promise<void> {
    for (const host of this.hosts.values()) {
      try {
        await host.agent.stop?.(host);
      } catch (error) {
        this.hub.log.error("Agent {api} failed to stop: {error}", {
          api: host.agent.api,
          error: (error as Error)?.message ?? String(error),
        });
      }
      for (const event of [...host.events.values()]) event.drop();
    }
  }
}

/** One hosted agent: its context, its events, its receiver for `onEvent`. */
class AgentHost implements AgentContext {
  readonly agent: Agent;
  readonly api: string;
  readonly events = new Map<string, Event>();
  readonly receiver: Receiver | undefined;
  readonly log: AgentsLog;
  #registry: AgentRegistry;

  constructor(agent: Agent, registry: AgentRegistry) {
    this.agent = agent;
    this.api = agent.api;
    this.log = registry.hub.log;
    this.#registry = registry;
    if (agent.onEvent !== undefined) {
      this.receiver = new AgentReceiver(this);
      registry.hub.agentReceivers.add(this.receiver);
    }
  }

  makeEvent(name: string): AgentEvent {
    const full = `${this.api}/${name}`;
    if (!isValidExtendedName(full) || name.length === 0) {
      throw new TypeError(
        `Invalid event name "${full}": use [A-Za-z0-9_./-], at most 255 characters`,
      );
    }
    let event = this.events.get(full);
    if (event === undefined) {
      event = new Event(full, this.#registry.hub, this);
      this.events.set(full, event);
    }
    return event;
  }

  broadcastEvent(name: string, data?: JsonValue): number {
    const full = `${this.api}/${name}`;
    if (!isValidExtendedName(full) || name.length === 0) {
      throw new TypeError(`Invalid event name "${full}"`);
    }
    const hub = this.#registry.hub;
    return hub.broadcast(hub.encode(full, jsonParam(data), this.receiver));
  }

  call(verb: string, args?: JsonValue): Promise<JsonValue> {
    const json = jsonParam(args); // the callee gets its own copy, as over the wire
    const copy = json === undefined ? undefined : JSON.parse(json) as JsonValue;
    return this.#registry.call(verb, copy, this.receiver, `agent:${this.api}`);
  }

  subscribe(nameOrPattern: string): void {
    if (this.receiver === undefined) {
      throw new TypeError(
        `Cannot subscribe agent "${this.api}" to "${nameOrPattern}": it has no onEvent`,
      );
    }
    this.#registry.hub.addSelector(this.receiver, nameOrPattern);
  }

  unsubscribe(nameOrPattern: string): void {
    if (this.receiver !== undefined) {
      this.#registry.hub.removeSelector(this.receiver, nameOrPattern);
    }
  }
}

/** An agent as a receiver: events run its `onEvent` in a later microtask, errors only logged. */
class AgentReceiver implements Receiver {
  readonly label: string;
  readonly subscriptions = new Set<Subscription>();
  #host: AgentHost;

  constructor(host: AgentHost) {
    this.#host = host;
    this.label = `agent:${host.api}`;
  }

  canReceive(): boolean {
    return true;
  }

  deliver(event: EncodedEvent): boolean {
    const host = this.#host;
    queueMicrotask(() => {
      try {
        const result: unknown = host.agent.onEvent!(
          event.name,
          dataOf(event),
          host,
        );
        if (result instanceof Promise) result.catch((e) => this.#report(e));
      } catch (error) {
        this.#report(error);
      }
    });
    return true;
  }

  #report(error: unknown): void {
    this.#host.log.warn("Agent {api} failed on an event: {error}", {
      api: this.#host.api,
      error: (error as Error)?.message ?? String(error),
    });
  }
}

/** One event of an agent. */
class Event implements AgentEvent {
  readonly name: string;
  #subscribers = new Set<Receiver>();
  #dropped = false;
  #hub: Hub;
  #owner: AgentHost;

  constructor(name: string, hub: Hub, owner: AgentHost) {
    this.name = name;
    this.#hub = hub;
    this.#owner = owner;
  }

  get dropped(): boolean {
    return this.#dropped;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  push(data?: JsonValue): number {
    this.#assertLive();
    const event = this.#hub.encode(this.name, jsonParam(data));
    return this.#hub.push(event, this.#subscribers);
  }

  pushCounted(data?: JsonValue): Promise<number> {
    this.#assertLive();
    const event = this.#hub.encode(this.name, jsonParam(data));
    return this.#hub.pushCounted(event, this.#subscribers);
  }

  broadcast(data?: JsonValue): number {
    this.#assertLive();
    const sender = this.#owner.receiver;
    return this.#hub.broadcast(
      this.#hub.encode(this.name, jsonParam(data), sender),
    );
  }

  broadcastCounted(data?: JsonValue): Promise<number> {
    this.#assertLive();
    const sender = this.#owner.receiver;
    return this.#hub.broadcastCounted(
      this.#hub.encode(this.name, jsonParam(data), sender),
    );
  }

  drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    for (const receiver of this.#subscribers) {
      receiver.subscriptions.delete(this);
    }
    this.#subscribers.clear();
    if (this.#owner.events.get(this.name) === this) {
      this.#owner.events.delete(this.name);
    }
  }

  subscribe(receiver: Receiver): void {
    this.#assertLive();
    this.#subscribers.add(receiver);
    receiver.subscriptions.add(this);
  }

  unsubscribe(receiver: Receiver): void {
    this.#subscribers.delete(receiver);
    receiver.subscriptions.delete(this);
  }

  #assertLive(): void {
    if (this.#dropped) throw new EventDroppedError(this.name);
  }
}

/** One call of a verb: collects the single answer. */
class Request implements AgentRequest {
  readonly verb: string;
  readonly args: JsonValue;
  readonly caller: string;
  #receiver: Receiver | undefined;
  #answer:
    | { data: JsonValue }
    | { failure: string; message: string }
    | undefined;

  constructor(
    verb: string,
    args: JsonValue,
    receiver: Receiver | undefined,
    caller: string,
  ) {
    this.verb = verb;
    this.args = args;
    this.caller = caller;
    this.#receiver = receiver;
  }

  get answered(): boolean {
    return this.#answer !== undefined;
  }

  subscribe(event: AgentEvent): void {
    const receiver = this.#receiver;
    if (receiver === undefined || !receiver.canReceive()) {
      throw new CallError(
        FAILURES.CANNOT_RECEIVE,
        `Cannot subscribe ${this.caller} to "${event.name}": it does not receive events (a 1.2 connection with the receive flag, or an agent with onEvent)`,
      );
    }
    asEvent(event).subscribe(receiver);
  }

  unsubscribe(event: AgentEvent): void {
    if (this.#receiver !== undefined) {
      asEvent(event).unsubscribe(this.#receiver);
    }
  }

  reply(data?: JsonValue): void {
    if (this.#answer !== undefined) return;
    const json = jsonParam(data ?? null)!;
    this.#answer = { data: JSON.parse(json) as JsonValue };
  }

  fail(code: string, message: string): void {
    if (this.#answer !== undefined) return;
    const failure = FAILURE_CODE.test(code) ? code : FAILURES.FAILED;
    this.#answer = { failure, message: String(message) };
  }

  outcome(): JsonValue {
    const answer = this.#answer!;
    if ("failure" in answer) {
      throw new CallError(answer.failure, answer.message);
    }
    return answer.data;
  }
}

function asEvent(event: AgentEvent): Event {
  if (!(event instanceof Event)) {
    throw new TypeError(
      `Cannot subscribe to "${event.name}": not an agent event`,
    );
  }
  return event;
}
