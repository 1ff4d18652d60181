import {
  COMMANDS,
  DATA_COMMANDS,
  decodeMessage,
  encodeAfbEvent,
  encodeWsFrame,
  type Message,
  WS_OPCODES,
} from "../../protocol/mod.ts";

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

/** The lines of `bytes` (each `\n`-ended), translated once per distinct bytes object. */
export function outgoingOf(bytes: Uint8Array): readonly Outgoing[] {
  let items = translated.get(bytes);
  if (items === undefined) {
    items = translate(bytes);
    translated.set(bytes, items);
  }
  return items;
}

function translate(bytes: Uint8Array): Outgoing[] {
  const items: Outgoing[] = [];
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
      items.push(eventOf(ascii.decode(line.subarray(1)), undefined, true));
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
