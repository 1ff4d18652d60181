/** A test agent whose verbs drive its events, for tests of agent events over each kind of link. */
import type { JsonValue } from "../../protocol/mod.ts";
import {
  type Agent,
  type AgentContext,
  defineAgent,
  type Verb,
} from "../../server/mod.ts";

type Args = { name: string; data?: JsonValue };

/**
 * Agent `probe`: `join` subscribes the caller to event `name`, `leave` unsubscribes it, `push` and
 * `broadcast` send `data` as event `name`; plus `verbs`, and `onEvent` when given. `ctx()` is its
 * context once initialised.
 */
export function probeAgent(
  verbs: Record<string, Verb> = {},
  onEvent?: Agent["onEvent"],
): { agent: Agent; ctx: () => AgentContext } {
  let context: AgentContext | undefined;
  const agent = defineAgent({
    api: "probe",
    init: (ctx) => void (context = ctx),
    verbs: {
      ...verbs,
      join: (req, ctx) => {
        const event = ctx.makeEvent((req.args as Args).name);
        req.subscribe(event);
        return event.name;
      },
      leave: (req, ctx) =>
        req.unsubscribe(ctx.makeEvent((req.args as Args).name)),
      push: (req, ctx) => {
        const { name, data } = req.args as Args;
        return ctx.makeEvent(name).push(data);
      },
      broadcast: (req, ctx) => {
        const { name, data } = req.args as Args;
        return ctx.makeEvent(name).broadcast(data);
      },
    },
    ...(onEvent === undefined ? {} : { onEvent }),
  });
  return { agent, ctx: () => context! };
}
