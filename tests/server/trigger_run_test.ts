// The session's bulk path for pipelined plain triggers (a run of `T<name>\n` lines becomes one
// frame) must be invisible: whatever way the input is cut into reads, receivers and the sender
// get exactly the bytes they get when every line goes through the codec one at a time.
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { startServer } from "../../server/mod.ts";
import type { TransportHost } from "../../server/transports/transport.ts";
import { FakeLink } from "./_fake_link.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NAME_CHARS = "abcXYZ019_";
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);

interface Outcome {
  receiver: string;
  sender: string;
  closed: string;
  triggers: number;
}

type Server = Awaited<ReturnType<typeof startServer>>;

function counters(server: Server): { triggers: number } {
  return (server as unknown as { counters: { triggers: number } }).counters;
}

/** One sender's input, cut into `chunks`, with a receiver listening; what everyone saw. */
async function run(
  server: Server,
  hello: string,
  chunks: readonly Uint8Array[],
): Promise<Outcome> {
  const host = server as unknown as TransportHost;
  const receiver = new FakeLink("receiver");
  host.open(receiver);
  await receiver.feed([encoder.encode("H1.1\nF1\n")]);
  const before = counters(server).triggers;
  const sender = new FakeLink("sender");
  host.open(sender);
  await sender.feed([encoder.encode(hello + "\n")]);
  await sender.feed(chunks);
  sender.end();
  const { reason } = await sender.closed;
  const triggers = counters(server).triggers - before;
  receiver.close("test over");
  return {
    receiver: decoder.decode(new Uint8Array(receiver.received)),
    sender: decoder.decode(new Uint8Array(sender.received)),
    closed: reason,
    triggers,
  };
}

function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))]
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return chunks;
}

const byteAtATime = (bytes: Uint8Array) =>
  Array.from(bytes, (byte) => Uint8Array.of(byte));

const name = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom(...NAME_CHARS),
    minLength: min,
    maxLength: max,
  });

/** Lines the fast path takes, and every near miss it must leave to the codec. */
const line = fc.oneof(
  { weight: 12, arbitrary: name(1, 12).map((n) => `T${n}`) },
  { weight: 2, arbitrary: name(254, 256).map((n) => `T${n}`) }, // 255 is the longest plain name
  { weight: 1, arbitrary: fc.constant("T") },
  { weight: 1, arbitrary: name(1, 5).map((n) => `T${n};f`) }, // an option
  { weight: 1, arbitrary: name(1, 5).map((n) => `T${n},x`) }, // a parameter
  { weight: 1, arbitrary: name(1, 5).map((n) => `T\\x41${n}`) }, // an escape
  { weight: 1, arbitrary: name(1, 5).map((n) => `T${n}-bad`) },
  { weight: 1, arbitrary: name(1, 5).map((n) => `T${n}\u00e9`) }, // not ASCII
  { weight: 1, arbitrary: fc.constantFrom("", "p42", "F1", "F0", "iunknown") },
  { weight: 1, arbitrary: fc.constant("Zunknown") }, // an unknown required command: closes
  { weight: 1, arbitrary: fc.constant(`T${"y".repeat(5000)}`) }, // over 1.1's 4096 bytes
);
const lineEnd = fc.oneof(
  { weight: 10, arbitrary: fc.constant("\n") },
  { weight: 1, arbitrary: fc.constantFrom("\r\n", "\r") },
);
const input = fc.record({
  hello: fc.constantFrom("H1.1", "H1.2", "H1.2;m65536"),
  lines: fc.array(fc.tuple(line, lineEnd), { minLength: 1, maxLength: 60 }),
  unterminated: fc.constantFrom("", "Tab", "T"), // a last line without a line end
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
});

Deno.test("session: pipelined triggers cut into reads anywhere give exactly what line-at-a-time handling gives", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await fc.assert(
    fc.asyncProperty(input, async ({ hello, lines, unterminated, cuts }) => {
      const text = lines.map(([l, end]) => l + end).join("") + unterminated;
      const bytes = encoder.encode(text);
      const expected = await run(server, hello, byteAtATime(bytes));
      assert.deepEqual(await run(server, hello, [bytes]), expected);
      assert.deepEqual(await run(server, hello, cut(bytes, cuts)), expected);
    }),
    { seed: SEED, numRuns: 150 },
  );
});

Deno.test("session: a run of plain triggers read at once reaches a receiver as one frame", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const host = server as unknown as TransportHost;
  const frames: Uint8Array[] = [];
  const receiver = new FakeLink("receiver");
  receiver.send = (bytes) => void frames.push(bytes);
  host.open(receiver);
  await receiver.feed([encoder.encode("H1.1\nF1\n")]);
  frames.length = 0;
  const sender = new FakeLink("sender");
  host.open(sender);
  await sender.feed([encoder.encode("H1.1\n")]);
  const before = counters(server).triggers;
  // the first line finishes one begun in the previous read; the last is left unfinished
  await sender.feed([
    encoder.encode("Tfir"),
    encoder.encode("st\nTa\nTb\nTc\nTd"),
  ]);
  assert.deepEqual(frames.map((f) => decoder.decode(f)), [
    "Tfirst\nTa\nTb\nTc\n",
  ]);
  assert.equal(counters(server).triggers - before, 4);
  sender.close("test over");
  receiver.close("test over");
});
