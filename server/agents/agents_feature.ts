import {
  agreedMaxMessage,
  CallError,
  DATA_COMMANDS,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeMessage,
  FAILURES,
  isValidExtendedName,
  isValidPattern,
  isValidRequestId,
  MAX_LINE_BYTES,
  MAX_MESSAGE_OPTION,
  maxMessageOf,
  type Message,
  parseJsonParam,
} from "../../protocol/mod.ts";
import type { CommandHandler, Feature, FeatureHost } from "../feature.ts";
import type { Session } from "../session.ts";
import type { Agent } from "./agent.ts";
import { AgentRegistry } from "./agent_host.ts";
import { type AgentsLog, Hub } from "./hub.ts";
import { RemoteAgents } from "./remote_agents.ts";
import { logLimit, resolveLimits } from "../limits.ts";
import { EMD_API } from "../metrics/emd_agent.ts";
import type { AgentStats } from "../metrics/stats.ts";

/**
 * Checks the agents a server is asked to host.
 * @throws {TypeError} for a duplicate API name or a malformed agent
 */
export function checkAgents(agents: readonly Agent[]): void {
  const seen = new Set<string>();
  for (const agent of agents) {
    if (typeof agent?.api !== "string" || typeof agent.verbs !== "object") {
      throw new TypeError("Invalid agent: expected { api, verbs }");
    }
    if (agent.api === EMD_API) {
      throw new TypeError(
        `Agent API name "${EMD_API}" is reserved: emd's own agent uses it`,
      );
    }
    if (agent.api === "em") {
      throw new TypeError(
        'Invalid agent API name "em": reserved for emd\'s own WebSocket API',
      );
    }
    if (seen.has(agent.api)) {
      throw new TypeError(`Duplicate agent API name "${agent.api}"`);
    }
    seen.add(agent.api);
  }
}

/**
 * The 1.2 agents and data-events capability: `c` calls, `s`/`u` subscriptions, `t` triggers with
 * data, `d` events, and the `m` hello option that agrees on a larger message size.
 */
export function agentsFeature(host: FeatureHost, log: AgentsLog): Feature {
  const maxMessageBytes = Math.max(
    MAX_LINE_BYTES,
    host.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
  );
  const hub = new Hub(host, maxMessageBytes, log);
  const { maxSubscriptions, maxCallsInFlight } = resolveLimits(host.options);
  const registry = new AgentRegistry(hub, host.options.agents ?? []);
  const bus = host.bus;
  const remote = bus?.clustered ? new RemoteAgents(hub, bus) : undefined;
  hub.remote = registry.remote = remote;
  const commands = new Map<string, CommandHandler>([
    [
      DATA_COMMANDS.CALL,
      only12(callHandler(registry, hub, maxCallsInFlight)),
    ],
    [DATA_COMMANDS.SUBSCRIBE, only12(subscribeHandler(hub, maxSubscriptions))],
    [DATA_COMMANDS.UNSUBSCRIBE, only12(subscribeHandler(hub, 0))],
    [DATA_COMMANDS.TRIGGER, only12(triggerHandler(hub))],
  ]);
  return {
    commands,
    ready: registry.init().then(() => remote?.serve(registry)),
    helloOptions: () => [
      { letter: MAX_MESSAGE_OPTION, params: [String(maxMessageBytes)] },
    ],
    onHello(session, hello) {
      if ((session.hello?.minor ?? 0) < 2) return;
      const agreed = agreedMaxMessage(maxMessageBytes, maxMessageOf(hello));
      if (agreed > session.limits.maxLineBytes) {
        session.setLimits({ maxLineBytes: agreed, maxParamChars: agreed });
      }
    },
    onClose: (session) => hub.forget(hub.receiverOf(session)),
    report: () => ({
      agents: agentStats(registry),
      subscriptions: hub.subscriptionCounts(),
    }),
    stop: () => registry.stop(),
  };
}

/** The hosted agents with their verbs and events (emd's own agent not listed). */
function agentStats(registry: AgentRegistry): AgentStats[] {
  return [...registry.hosts.values()]
    .filter((host) => host.api !== EMD_API)
    .map((host) => ({
      api: host.api,
      verbs: Object.keys(host.agent.verbs),
      events: [...host.events.values()].map((event) => ({
        name: event.name,
        subscribers: event.subscriberCount,
      })),
    }));
}

/** 1.2 commands from a 1.1 peer are ignored (lower case: it may not send them meaningfully). */
function only12(handler: CommandHandler): CommandHandler {
  return (session, message) => {
    if ((session.hello?.minor ?? 0) >= 2) return handler(session, message);
    session.drop(
      `1.2 command "${message.command.letter}" from a 1.1 peer, ignored`,
    );
  };
}

/** The id of a request, or undefined (message dropped: without an id nothing can answer). */
function requestId(session: Session, message: Message): string | undefined {
  const id = message.command.params[0] ?? "";
  if (isValidRequestId(id)) return id;
  session.drop(`bad request id "${id}" on "${message.command.letter}"`);
  return undefined;
}

/** `c`: calls a verb; at most `maxCallsInFlight` unanswered calls per connection. */
function callHandler(
  registry: AgentRegistry,
  hub: Hub,
  maxCallsInFlight: number,
): CommandHandler {
  const inFlight = new WeakMap<Session, number>();
  return (session, message) => {
    const id = requestId(session, message);
    if (id === undefined) return;
    const [, verb = "", argsText, ...extra] = message.command.params;
    const counters = hub.host.counters;
    if (!isValidExtendedName(verb) || !verb.includes("/") || extra.length) {
      counters?.called(FAILURES.BAD_REQUEST);
      return fail(hub, session, id, FAILURES.BAD_REQUEST, `bad verb "${verb}"`);
    }
    const args = parseJsonParam(argsText);
    if ("fault" in args) {
      counters?.called(FAILURES.BAD_REQUEST);
      return fail(
        hub,
        session,
        id,
        FAILURES.BAD_REQUEST,
        `${verb}: ${args.fault}`,
      );
    }
    const calls = inFlight.get(session) ?? 0;
    if (calls >= maxCallsInFlight) {
      counters?.called(FAILURES.LIMIT);
      logLimit(
        session.peer,
        "maxCallsInFlight",
        maxCallsInFlight,
        `call "${verb}"`,
      );
      return session.reply(DATA_COMMANDS.FAIL, [
        id,
        FAILURES.LIMIT,
        `Cannot call "${verb}": over ${maxCallsInFlight} calls in flight`,
      ]);
    }
    inFlight.set(session, calls + 1);
    const receiver = registry.hub.receiverOf(session);
    registry.call(verb, args.value, receiver, session.peer).finally(() =>
      inFlight.set(session, inFlight.get(session)! - 1)
    ).then(
      (data) => {
        counters?.called("ok");
        answer(hub, session, id, JSON.stringify(data));
      },
      (error) => {
        const failure = error instanceof CallError
          ? error.failure
          : FAILURES.FAILED;
        counters?.called(failure);
        fail(
          hub,
          session,
          id,
          failure,
          (error as Error)?.message ?? String(error),
        );
      },
    );
  };
}

/** `s` (up to `maxSubscriptions` per connection) or, with 0, `u`. */
function subscribeHandler(hub: Hub, maxSubscriptions: number): CommandHandler {
  const subscribing = maxSubscriptions > 0;
  return (session, message) => {
    const id = requestId(session, message);
    if (id === undefined) return;
    const [, pattern = "", ...extra] = message.command.params;
    if (!isValidPattern(pattern) || extra.length) {
      return fail(
        hub,
        session,
        id,
        FAILURES.BAD_REQUEST,
        `bad pattern "${pattern}"`,
      );
    }
    const receiver = hub.receiverOf(session);
    if (!subscribing) {
      hub.removeSelector(receiver, pattern);
      for (const event of [...receiver.subscriptions]) {
        if (event.name === pattern) {
          event.unsubscribe(receiver);
        }
      }
      return answer(hub, session, id, undefined);
    }
    if (!receiver.canReceive()) {
      return fail(
        hub,
        session,
        id,
        FAILURES.CANNOT_RECEIVE,
        `Cannot subscribe to "${pattern}": this connection does not receive events (set flag F1)`,
      );
    }
    if (hub.selectorsBesides(receiver, pattern) >= maxSubscriptions) {
      const what = `subscription "${pattern}"`; // the one log line: logLimit's, not fail()'s
      logLimit(session.peer, "maxSubscriptions", maxSubscriptions, what);
      return session.reply(DATA_COMMANDS.FAIL, [
        id,
        FAILURES.LIMIT,
        `Cannot subscribe to "${pattern}": over ${maxSubscriptions} subscriptions`,
      ]);
    }
    hub.addSelector(receiver, pattern);
    answer(hub, session, id, undefined);
  };
}

function triggerHandler(hub: Hub): CommandHandler {
  return (session, message) => {
    const id = requestId(session, message);
    if (id === undefined) return;
    const [, name = "", dataText, ...extra] = message.command.params;
    if (!isValidExtendedName(name) || extra.length) {
      return fail(
        hub,
        session,
        id,
        FAILURES.BAD_REQUEST,
        `bad event name "${name}"`,
      );
    }
    const data = parseJsonParam(dataText);
    if ("fault" in data) {
      return fail(
        hub,
        session,
        id,
        FAILURES.BAD_REQUEST,
        `${name}: ${data.fault}`,
      );
    }
    let count: number | Promise<number>;
    try {
      count = hub.trigger(hub.encode(name, dataText), session.peer);
    } catch (error) {
      return fail(
        hub,
        session,
        id,
        FAILURES.BAD_REQUEST,
        (error as Error).message,
      );
    }
    if (typeof count === "number") {
      return answer(hub, session, id, String(count));
    }
    count.then(
      (all) => answer(hub, session, id, String(all)),
      (error: Error) => fail(hub, session, id, FAILURES.FAILED, error.message),
    );
  };
}

const encoder = new TextEncoder();

function answer(
  hub: Hub,
  session: Session,
  id: string,
  json: string | undefined,
): void {
  const params = json === undefined ? [id] : [id, json];
  const line = encodeMessage({ letter: DATA_COMMANDS.REPLY, params }) + "\n";
  const bytes = encoder.encode(line);
  if (bytes.byteLength > session.limits.maxLineBytes) {
    return fail(
      hub,
      session,
      id,
      FAILURES.FAILED,
      `Cannot send the reply: ${bytes.byteLength} bytes, over the ${session.limits.maxLineBytes} byte message limit`,
    );
  }
  session.connection.send(bytes);
}

function fail(
  hub: Hub,
  session: Session,
  id: string,
  code: string,
  text: string,
): void {
  hub.log.info("Request {id} from {peer} failed: {code}: {text}", {
    id,
    peer: session.peer,
    code,
    text,
  });
  const message = text.length > 200 ? text.slice(0, 200) + "..." : text;
  session.reply(DATA_COMMANDS.FAIL, [id, code, message]);
}
