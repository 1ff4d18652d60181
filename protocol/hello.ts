import { type Block, findOption, type Message } from "./message.ts";
import { PROTOCOL_MAJOR } from "./limits.ts";

/** Wire letters of the commands em knows. */
export const COMMANDS = Object.freeze({
  HELLO: "H",
  FLAGS: "F",
  TRIGGER: "T",
  QUIT: "Q",
  /** 1.2: ping, answered with the same token (a round trip). */
  PING: "p",
  /** 1.2: an error from the server, `e<code>,<text>`; a 1.1 peer ignores it. */
  ERROR: "e",
});

/** Hello option letters. */
export const HELLO_OPTIONS = Object.freeze({
  /** The sender's application name. */
  APP_NAME: "a",
});

/** Flag bit: this connection receives triggers. */
export const FLAG_RECEIVE = 1;

/** What a hello says about its sender. */
export interface Hello {
  /** Major protocol version; another major version is incompatible. */
  readonly major: number;
  /** Minor protocol version; a higher minor adds only lower-case (optional) messages. */
  readonly minor: number;
  /** The `a` option, if sent. */
  readonly appName?: string;
}

const DIGITS = /^[0-9]{1,9}$/;

/**
 * Reads a hello: `H1.1`, `H1,1` or `H1`, with an optional `a<application name>`.
 * @returns the hello, or a fault text
 */
export function parseHello(message: Message): Hello | { fault: string } {
  const { command } = message;
  if (command.letter !== COMMANDS.HELLO) {
    return { fault: `expected a hello "H", got "${command.letter}"` };
  }
  const parts = command.params.length === 1
    ? command.params[0]!.split(".")
    : [...command.params];
  if (
    parts.length < 1 || parts.length > 2 || !parts.every((p) => DIGITS.test(p))
  ) {
    return { fault: `bad hello version "${command.params.join(",")}"` };
  }
  const appName = findOption(message, HELLO_OPTIONS.APP_NAME)?.params[0];
  return {
    major: Number(parts[0]),
    minor: Number(parts[1] ?? 0),
    ...(appName === undefined ? {} : { appName }),
  };
}

/** True when a peer's hello is compatible with ours (same major version). */
export function isCompatible(hello: Hello): boolean {
  return hello.major === PROTOCOL_MAJOR;
}

/** The blocks of a hello announcing `version`, with options. */
export function helloBlocks(
  version: string,
  options: readonly Block[] = [],
): { command: Block; options: readonly Block[] } {
  return { command: { letter: COMMANDS.HELLO, params: [version] }, options };
}

/**
 * Reads flags `F<integer>`.
 * @returns the flag bits, or a fault text
 */
export function parseFlags(command: Block): number | { fault: string } {
  const text = command.params[0] ?? "";
  if (command.params.length !== 1 || !DIGITS.test(text)) {
    return {
      fault: `bad flags "${command.params.join(",")}": expected an integer`,
    };
  }
  return Number(text);
}
