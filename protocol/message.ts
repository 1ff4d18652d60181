import { decodeParam, encodeParam } from "./escape.ts";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";

const SEMICOLON = 0x3b;
/** Not fatal: faster than a fatal decoder, and checked lines are printable ASCII anyway. */
const ascii = new TextDecoder();
const COMMA = 0x2c;

/** One block: a letter and its parameters (`T` `["build_done"]`). */
export interface Block {
  /** One ASCII letter; upper case = must be understood, lower case = may be ignored. */
  readonly letter: string;
  /** Decoded parameters; none when the block is the letter alone. */
  readonly params: readonly string[];
}

/** One message: a command block and its option blocks. */
export interface Message {
  /** The command block. */
  readonly command: Block;
  /** Option blocks, in the order sent. */
  readonly options: readonly Block[];
}

/** Why a line is not a valid message; `closes` says whether the connection must end. */
export interface DecodeFault {
  /** What is wrong, for a log line. */
  readonly fault: string;
  /** True when the peer is not speaking the protocol at all; false when only this message is bad. */
  readonly closes: boolean;
}

/** A decoded message or the fault that prevented it; decoding never throws. */
export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | ({ readonly ok: false } & DecodeFault);

/** True for an ASCII letter byte. */
export function isLetter(byte: number | undefined): boolean {
  return byte !== undefined &&
    ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a));
}

/** True when a block letter is upper case: a receiver must understand it. */
export function isRequired(letter: string): boolean {
  const code = letter.charCodeAt(0);
  return code >= 0x41 && code <= 0x5a;
}

/**
 * Decodes one line (without its line end) into a message.
 * @param line the bytes of one message
 * @param limits parameter limit to enforce (the line limit is the framer's)
 * @returns the message, or a fault saying whether to close the connection
 */
export function decodeMessage(
  line: Uint8Array,
  limits: Limits = DEFAULT_LIMITS,
): DecodeResult {
  for (let i = 0; i < line.length; i++) {
    const byte = line[i]!;
    if (byte < 0x20 || byte > 0x7e) {
      return closing(`non-printable byte 0x${hex(byte)} at offset ${i}`);
    }
  }
  if (line.length === 0) {
    return { ok: false, fault: "empty message", closes: false };
  }
  // A short line is made one string (printable ASCII: one call, no checks), and a parameter
  // without escapes is a slice of it; a kept slice may keep its line's string alive, hence only
  // for short lines. Longer lines decode each parameter from its bytes.
  return decodeBlocks(
    line,
    limits,
    line.length <= SHORT_LINE ? ascii.decode(line) : undefined,
  );
}

/** Lines up to this many bytes are decoded through one string of the whole line. */
const SHORT_LINE = 128;
const BACKSLASH = 0x5c;

/** The blocks of a checked, printable line; `text` is the line as a string, when made. */
function decodeBlocks(
  line: Uint8Array,
  limits: Limits,
  text: string | undefined,
): DecodeResult {
  let backslash = line.indexOf(BACKSLASH);
  let command: Block | undefined;
  const options: Block[] = [];
  let start = 0;
  while (start <= line.length) {
    let end = line.indexOf(SEMICOLON, start);
    if (end === -1) end = line.length;
    if (!isLetter(line[start]) || start === end) {
      return closing(`block at offset ${start} does not start with a letter`);
    }
    const letter = String.fromCharCode(line[start]!);
    const params: string[] = [];
    let from = start + 1;
    while (from <= end && end - start > 1) {
      let to = line.indexOf(COMMA, from);
      if (to === -1 || to > end) to = end;
      if (to - from > limits.maxParamChars) {
        return paramFault(
          `parameter ${
            params.length + 1
          } of "${letter}" is over ${limits.maxParamChars} characters`,
        );
      }
      if (backslash !== -1 && backslash < from) {
        backslash = line.indexOf(BACKSLASH, from);
      }
      if (text !== undefined && (backslash === -1 || backslash >= to)) {
        params.push(text.slice(from, to));
      } else {
        const value = decodeParam(line.subarray(from, to));
        if (typeof value !== "string") {
          return paramFault(
            `parameter ${params.length + 1} of "${letter}": ${value.fault}`,
          );
        }
        params.push(value);
      }
      from = to + 1;
    }
    if (command === undefined) command = { letter, params };
    else options.push({ letter, params });
    start = end + 1;
  }
  return { ok: true, message: { command: command!, options } };
}

function paramFault(fault: string): DecodeResult {
  return { ok: false, fault, closes: false };
}

/**
 * Encodes a message as one line without its line end; parameters are escaped.
 * @throws {RangeError} if a letter is not one ASCII letter
 */
export function encodeMessage(
  command: Block,
  options: readonly Block[] = [],
): string {
  let text = encodeBlock(command);
  for (const option of options) text += ";" + encodeBlock(option);
  return text;
}

function encodeBlock(block: Block): string {
  if (block.letter.length !== 1 || !isLetter(block.letter.charCodeAt(0))) {
    throw new RangeError(
      `Cannot encode block "${block.letter}": not one ASCII letter`,
    );
  }
  return block.letter + block.params.map(encodeParam).join(",");
}

/** The first option of a message with this letter, if any. */
export function findOption(
  message: Message,
  letter: string,
): Block | undefined {
  return message.options.find((option) => option.letter === letter);
}

/** The first upper-case option not in `known`: a receiver must reject the message. */
export function unknownRequiredOption(
  message: Message,
  known: string,
): string | undefined {
  return message.options.find((option) =>
    isRequired(option.letter) && !known.includes(option.letter)
  )?.letter;
}

function closing(fault: string): DecodeResult {
  return { ok: false, fault, closes: true };
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
