// Property-based tests of the whole codec (escapes, framing, messages) with fast-check: round
// trips for any parameter bytes, any split of a stream, arbitrary bytes never throwing anything
// but the documented EmError, and never more than one message of input held. Each property runs
// NUM_RUNS generated cases (EM_FC_RUNS overrides); the seed is printed and EM_FC_SEED replays it.
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { CODE_POINT } from "./_code_point.ts";
import {
  decodeMessage,
  decodeParam,
  EmError,
  encodeMessage,
  encodeParam,
  escapeBytes,
  LineFramer,
  MAX_LINE_BYTES,
  MAX_PARAM_CHARS,
  type Message,
  parseFlags,
  parseHello,
  parseJsonParam,
  unescapeBytes,
} from "../../protocol/mod.ts";

const NUM_RUNS = Number(Deno.env.get("EM_FC_RUNS") ?? 1000);
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);
const PARAMS = { numRuns: NUM_RUNS, seed: SEED };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 0x0d, LF = 0x0a;

// deno-lint-ignore no-console
console.log(`codec properties: ${NUM_RUNS} runs each, seed ${SEED}`);

/** Text that stresses the escapes: separators, backslashes, line ends and control bytes. */
const nastyText = fc.string({
  unit: fc.oneof(
    CODE_POINT,
    fc.constantFrom(",", ";", "\\", "\\x", "\r", "\n", "\0", "\x7f", "é"),
  ),
  maxLength: 40,
});
const letter = fc.constantFrom(
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
);
/** A block that fits the 1.1 limits once encoded (a parameter is at most 255 characters as sent). */
const block = fc.record({
  letter,
  params: fc.array(nastyText, { maxLength: 4 }),
}).filter(({ params }) =>
  params.every((param) => encodeParam(param).length <= 255)
);
/** A message as sent: blocks, and a line end of any of the three kinds. */
const sentMessage = fc.record({
  command: block,
  options: fc.array(block, { maxLength: 3 }),
  lineEnd: fc.constantFrom("\n", "\r", "\r\n"),
}).filter(({ command, options }) =>
  encodeMessage(command, options).length + 2 <= MAX_LINE_BYTES
).filter(({ command }) =>
  command.params.length !== 1 || command.params[0] !== ""
)
  .filter(({ options }) =>
    options.every((o) => o.params.length !== 1 || o.params[0] !== "")
  ); // a lone empty parameter reads back as none (PROTOCOL.md): not a round trip

/** Cut points (sorted, within the stream) that split `bytes` into chunks. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))]
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.slice(start, point)); // copies: a chunk buffer is reused by real readers
    start = point;
  }
  return chunks;
}

/** Frames and decodes chunks as the server does; what it saw, or the EmError it stopped with. */
function parse(chunks: Uint8Array[], maxLineBytes = MAX_LINE_BYTES) {
  const framer = new LineFramer(maxLineBytes);
  const lines: string[] = [];
  let maxPending = 0;
  try {
    for (const chunk of chunks) {
      framer.push(chunk, (line) => void lines.push(decoder.decode(line)));
      maxPending = Math.max(maxPending, framer.pendingBytes);
    }
  } catch (error) {
    if (!(error instanceof EmError)) throw error;
    assert.equal(error.code, "protocol");
    return { lines, maxPending, error: error.message };
  }
  return { lines, maxPending, error: undefined, pending: framer.pendingBytes };
}

function plain(message: Message) {
  return {
    command: {
      letter: message.command.letter,
      params: [...message.command.params],
    },
    options: message.options.map((o) => ({
      letter: o.letter,
      params: [...o.params],
    })),
  };
}

Deno.test("codec property: escapeBytes/unescapeBytes round-trip any parameter bytes", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.boolean(),
      (bytes, lower) => {
        const text = escapeBytes(bytes);
        for (let i = 0; i < text.length; i++) {
          const code = text.charCodeAt(i);
          assert.ok(
            code >= 0x20 && code <= 0x7e && code !== 0x2c && code !== 0x3b,
          );
        }
        assert.ok(text.length <= 4 * bytes.length);
        // receivers accept either case of hex digit
        const sent = lower
          ? text.replace(
            /\\x([0-9A-F]{2})/g,
            (_, hex) => "\\x" + hex.toLowerCase(),
          )
          : text;
        assert.deepEqual(unescapeBytes(encoder.encode(sent)), bytes);
      },
    ),
    PARAMS,
  );
});

Deno.test("codec property: encodeParam/decodeParam round-trip any text", () => {
  fc.assert(
    fc.property(nastyText, (value) => {
      assert.equal(decodeParam(encoder.encode(encodeParam(value))), value);
    }),
    PARAMS,
  );
});

/** Lines up to 128 bytes (decoded from one string) in the protocol's alphabet, faults included. */
const shortLine = fc.string({
  unit: fc.oneof(
    fc.constantFrom(..."Tkvgos0123456789abcdefxABCDEF_-./"),
    fc.constantFrom(
      ";",
      ",",
      "\\",
      "\\x",
      "\\xC3\\xA9",
      "\\xFF",
      "\\x0",
      "\t",
      "\x7f",
    ),
  ),
  minLength: 1,
  maxLength: 40,
}).filter((text) => encoder.encode(text).length <= 128);

Deno.test("codec property: a short line decodes as it does with a long option after it", () => {
  fc.assert(
    fc.property(
      shortLine,
      fc.constantFrom(1, 3, 8, MAX_PARAM_CHARS),
      (line, maxParamChars) => {
        const limits = { maxLineBytes: MAX_LINE_BYTES, maxParamChars };
        const short = decodeMessage(encoder.encode(line), limits);
        const padded = ";z" + "a,".repeat(80) + "a"; // over 128 bytes in all: the other path
        const long = decodeMessage(encoder.encode(line + padded), limits);
        if (!short.ok) {
          assert.deepEqual(long, short);
          return;
        }
        assert.ok(long.ok, `${line}: ${!long.ok && long.fault}`);
        const options = long.message.options;
        assert.deepEqual(options.at(-1), {
          letter: "z",
          params: Array(81).fill("a"),
        });
        assert.deepEqual(plain(short.message), {
          command: plain(long.message).command,
          options: plain(long.message).options.slice(0, -1),
        });
      },
    ),
    PARAMS,
  );
});

Deno.test("codec property: any split of a stream of valid messages decodes to those messages", () => {
  fc.assert(
    fc.property(
      fc.array(sentMessage, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, cuts) => {
        const stream = encoder.encode(
          messages.map((m) => encodeMessage(m.command, m.options) + m.lineEnd)
            .join(""),
        );
        const { lines, error, pending } = parse(chunked(stream, cuts));
        assert.equal(error, undefined);
        assert.equal(pending, 0);
        const decoded = lines.map((line) => {
          const result = decodeMessage(encoder.encode(line));
          assert.ok(
            result.ok,
            `${JSON.stringify(line)}: ${JSON.stringify(result)}`,
          );
          return plain(result.message);
        });
        assert.deepEqual(
          decoded,
          messages.map((m) =>
            plain({ command: m.command, options: m.options })
          ),
        );
      },
    ),
    PARAMS,
  );
});

/** Bytes that are mostly line ends and message text: splits around "\r" and "\n" are common. */
const lineBytes = fc.uint8Array({ maxLength: 400 }).chain((noise) =>
  fc.array(
    fc.oneof(
      fc.constantFrom(CR, LF, CR, LF, 0x54, 0x61, 0x3b, 0x2c, 0x5c),
      fc.integer({ min: 0, max: 255 }),
    ),
    { maxLength: 400 },
  ).map((bytes) => Uint8Array.from([...bytes, ...noise.subarray(0, 40)]))
);

Deno.test("codec property: any split of arbitrary bytes frames exactly as one chunk does", () => {
  fc.assert(
    fc.property(
      lineBytes,
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.integer({ min: 2, max: 64 }),
      (bytes, cuts, maxLineBytes) => {
        const whole = parse([bytes], maxLineBytes);
        const split = parse(chunked(bytes, cuts), maxLineBytes);
        // with a limit, a split may reveal an over-long line sooner, but never different lines
        assert.equal(split.error, whole.error);
        assert.deepEqual(split.lines, whole.lines);
        const byteAtATime = parse(
          chunked(bytes, [...bytes.keys()]),
          maxLineBytes,
        );
        assert.deepEqual(byteAtATime.lines, whole.lines);
        assert.equal(byteAtATime.error, whole.error);
      },
    ),
    PARAMS,
  );
});

Deno.test("codec property: arbitrary bytes never throw but EmError, and never hold a message's worth", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 6 }),
      fc.constantFrom(16, 255, MAX_LINE_BYTES),
      (chunks, maxLineBytes) => {
        const { lines, maxPending } = parse(chunks, maxLineBytes);
        assert.ok(maxPending < maxLineBytes, `${maxPending} held`);
        for (const line of lines) {
          const result = decodeMessage(encoder.encode(line)); // never throws: values out
          if (!result.ok) {
            assert.equal(typeof result.fault, "string");
            continue;
          }
          parseHello(result.message);
          parseFlags(result.message.command);
          parseJsonParam(result.message.command.params[1]);
        }
        for (const chunk of chunks) {
          decodeMessage(chunk); // the decoder alone, on raw bytes and its own limits
          unescapeBytes(chunk);
          decodeParam(chunk);
        }
      },
    ),
    PARAMS,
  );
});
