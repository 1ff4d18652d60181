import {
  COMMANDS,
  DATA_COMMANDS,
  decodeMessage,
  encodeAfbEvent,
  encodeWsFrame,
  type Message,
  WS_OPCODES,
} from "../../protocol/mod.ts";
import { concat } from "../connection.ts";

/** One line the server sent, as a WebSocket client's link sees it. */
export type Outgoing =
  | {
    readonly kind: "event";
    readonly name: string;
    /** A plain trigger (`T`): sent only to clients that subscribed to it; else a `d` event. */
    readonly trigger: boolean;
    /** The afb event frame, built on first use and then shared by every client. */
    frame(): Uint8Array;
  }
  | { readonly kind: "hello"; readonly message: Message }
  | { readonly kind: "reply"; readonly message: Message }
  | { readonly kind: "other" };

const LF = 0x0a, T = 0x54, D = 0x64;
const encoder = new TextEncoder();
const ascii = new TextDecoder("latin1");
/** Own lines are read back without the peer limits. */
const OWN_LINES = { maxLineBytes: 1 << 30, maxParamChars: 1 << 30 };
/**
 * The server hands the same bytes to every receiver of a trigger or event: what they mean for a
 * WebSocket client is worked out once per bytes, and the frame built once.
 */
const translated = new WeakMap<Uint8Array, readonly Outgoing[]>();

/** The frames of a bytes object's events for one set of subscriptions, joined: shared by links. */
const joined = new WeakMap<Uint8Array, Map<string, Uint8Array>>();

/**
 * The frames a link with the subscriptions `signature` (matching by `selects`) sends for `bytes`,
 * all of whose lines are events: data events always, plain triggers when selected. Links with the
 * same subscriptions get the same bytes object, built once.
 */
export function eventFrames(
  bytes: Uint8Array,
  items: readonly Outgoing[],
  signature: string,
  selects: (name: string) => boolean,
): Uint8Array {
  let bySignature = joined.get(bytes);
  if (bySignature === undefined) {
    bySignature = new Map();
    joined.set(bytes, bySignature);
  }
  let frames = bySignature.get(signature);
  if (frames === undefined) {
    const parts: Uint8Array[] = [];
    let lastName: string | undefined, lastSelected = false; // runs of one name are common
    for (const item of items) {
      if (item.kind !== "event") continue;
      if (item.trigger && item.name !== lastName) {
        lastName = item.name;
        lastSelected = selects(item.name);
      }
      if (!item.trigger || lastSelected) parts.push(item.frame());
    }
    frames = parts.length === 1 ? parts[0]! : concat(parts);
    bySignature.set(signature, frames);
  }
  return frames;
}

/** Plain triggers' events by name: their frames never change (bounded: cleared when full). */
const plainTriggers = new Map<string, Outgoing>();
const MAX_PLAIN_TRIGGERS = 4096;

/** The lines of `bytes` (each `\n`-ended), translated once per distinct bytes object. */
export function outgoingOf(bytes: Uint8Array): readonly Outgoing[] {
  let items = translated.get(bytes);
  if (items === undefined) {
    items = translate(bytes);
    translated.set(bytes, items);
  }
  return items;
}

/** True when every line is an event (a fan-out frame), so {@link eventFrames} applies. */
export function allEvents(items: readonly Outgoing[]): boolean {
  let all = allEventsOf.get(items);
  if (all === undefined) {
    all = items.every((item) => item.kind === "event");
    allEventsOf.set(items, all);
  }
  return all;
}
const allEventsOf = new WeakMap<readonly Outgoing[], boolean>();

function translate(bytes: Uint8Array): Outgoing[] {
  const items: Outgoing[] = [];
  const text = ascii.decode(bytes); // one decode for the whole frame; names are sliced from it
  let start = 0;
  for (
    let end = bytes.indexOf(LF);
    end !== -1;
    end = bytes.indexOf(LF, start)
  ) {
    const line = bytes.subarray(start, end);
    start = end + 1;
    if (line.length === 0) continue;
    if (line[0] === T && line.indexOf(0x3b) === -1) { // a plain trigger: T<name>
      items.push(plainTrigger(text.slice(start - line.length, end)));
      continue;
    }
    const decoded = decodeMessage(line, OWN_LINES);
    if (!decoded.ok) continue;
    const { message } = decoded;
    const { letter, params } = message.command;
    if (line[0] === D && letter === DATA_COMMANDS.DATA) {
      items.push(eventOf(params[0] ?? "", params[1], false));
    } else if (letter === COMMANDS.HELLO) {
      items.push({ kind: "hello", message });
    } else if (letter === COMMANDS.PING) {
      items.push({ kind: "other" });
    } else {
      items.push({ kind: "reply", message });
    }
  }
  return items;
}

function plainTrigger(name: string): Outgoing {
  let event = plainTriggers.get(name);
  if (event === undefined) {
    if (plainTriggers.size >= MAX_PLAIN_TRIGGERS) plainTriggers.clear();
    event = eventOf(name, undefined, true);
    plainTriggers.set(name, event);
  }
  return event;
}

function eventOf(
  name: string,
  json: string | undefined,
  trigger: boolean,
): Outgoing {
  let frame: Uint8Array | undefined;
  return {
    kind: "event",
    name,
    trigger,
    frame: () =>
      frame ??= encodeWsFrame(
        WS_OPCODES.TEXT,
        encoder.encode(encodeAfbEvent(name, json)),
      ),
  };
}
