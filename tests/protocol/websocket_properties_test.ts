// Property-based tests of the WebSocket frame codec and the x-afb-ws-json1 message codec with
// fast-check: any messages, masked or not, split at any offsets, come out whole and in order;
// arbitrary bytes never throw anything but WsFrameError and never hold more than one message;
// arbitrary text never makes the afb decoder throw. EM_FC_RUNS / EM_FC_SEED as in the TCP codec's.
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import {
  decodeAfbMessage,
  EmError,
  encodeAfbError,
  encodeAfbEvent,
  encodeAfbReply,
  encodeMaskedWsFrame,
  encodeWsFrame,
  HttpHeadReader,
  WS_OPCODES,
  WsFrameDecoder,
  WsFrameError,
} from "../../protocol/mod.ts";

const NUM_RUNS = Number(Deno.env.get("EM_FC_RUNS") ?? 300);
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);
const PARAMS = { numRuns: NUM_RUNS, seed: SEED };
const MAX = 70_000; // over 65535: the 64-bit length form is exercised too

// deno-lint-ignore no-console
console.log(`websocket properties: ${NUM_RUNS} runs each, seed ${SEED}`);

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.uint8Array({ minLength: 120, maxLength: 130 }),
  fc.uint8Array({ minLength: 65_530, maxLength: 65_540 }),
);
const message = fc.record({
  payload,
  masked: fc.boolean(),
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  fragments: fc.integer({ min: 1, max: 3 }),
});

/** Encodes a message as 1 to 3 frames (fragments), masked as a browser's or not as AGL's. */
function encode(
  m: {
    payload: Uint8Array;
    masked: boolean;
    mask: Uint8Array;
    fragments: number;
  },
) {
  const parts: Uint8Array[] = [];
  const size = Math.ceil(m.payload.length / m.fragments) || 0;
  for (let i = 0; i < m.fragments; i++) {
    const piece = m.payload.subarray(i * size, (i + 1) * size);
    const opcode = i === 0 ? WS_OPCODES.BINARY : WS_OPCODES.CONTINUATION;
    const frame = m.masked
      ? encodeMaskedWsFrame(opcode, piece, m.mask)
      : encodeWsFrame(opcode, piece);
    if (i < m.fragments - 1) frame[0] = frame[0]! & 0x7f;
    parts.push(frame);
  }
  return parts;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((
    a,
    b,
  ) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.slice(start, point));
    start = point;
  }
  chunks.push(bytes.slice(start));
  return chunks;
}

Deno.test("websocket codec: any messages, masked or not, fragmented, split anywhere, come out whole", () => {
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (messages, cuts) => {
        const stream = concat(messages.flatMap(encode));
        const decoder = new WsFrameDecoder(MAX);
        const got: Uint8Array[] = [];
        for (const chunk of splitAt(stream, cuts)) {
          decoder.push(chunk, (opcode, data) => {
            assert.equal(opcode, WS_OPCODES.BINARY);
            got.push(data.slice());
          });
        }
        assert.equal(got.length, messages.length);
        messages.forEach((m, i) => assert.deepEqual(got[i], m.payload));
        assert.equal(decoder.pendingBytes, 0);
      },
    ),
    PARAMS,
  );
});

Deno.test("websocket codec: the chunks pushed are never changed, masked frames included", () => {
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (messages, cuts) => {
        const chunks = splitAt(concat(messages.flatMap(encode)), cuts);
        const before = chunks.map((chunk) => chunk.slice());
        const decoder = new WsFrameDecoder(MAX);
        const got: Uint8Array[] = [];
        for (const chunk of chunks) {
          decoder.push(chunk, (_opcode, data) => got.push(data));
        }
        assert.deepEqual(chunks, before);
        messages.forEach((m, i) => assert.deepEqual(got[i], m.payload));
      },
    ),
    PARAMS,
  );
});

Deno.test("websocket codec: arbitrary bytes throw only WsFrameError and hold at most one message", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
      (chunks) => {
        const decoder = new WsFrameDecoder(1000);
        try {
          for (const chunk of chunks) {
            decoder.push(
              chunk,
              (_opcode, data) => assert.ok(data.length <= 1000),
            );
            assert.ok(decoder.pendingBytes <= 1000 + 14);
          }
        } catch (error) {
          assert.ok(error instanceof WsFrameError, String(error));
          assert.ok([1002, 1009].includes(error.closeCode));
        }
      },
    ),
    PARAMS,
  );
});

Deno.test("websocket codec: a message of exactly the limit passes, one byte more is 1009", () => {
  for (const masked of [false, true]) {
    const frame = (n: number) =>
      masked
        ? encodeMaskedWsFrame(
          WS_OPCODES.TEXT,
          new Uint8Array(n),
          new Uint8Array([1, 2, 3, 4]),
        )
        : encodeWsFrame(WS_OPCODES.TEXT, new Uint8Array(n));
    let count = 0;
    new WsFrameDecoder(300).push(frame(300), () => count++);
    assert.equal(count, 1);
    assert.throws(() => new WsFrameDecoder(300).push(frame(301), () => {}), {
      closeCode: 1009,
    });
  }
});

Deno.test("afb codec: arbitrary text never throws; replies and events are one compact line", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
      const decoded = decodeAfbMessage(text);
      assert.ok("fault" in decoded || "kind" in decoded);
    }),
    PARAMS,
  );
  fc.assert(
    fc.property(
      fc.oneof(fc.string(), fc.integer()),
      fc.jsonValue(),
      fc.string(),
      (id, data, name) => {
        const idJson = JSON.stringify(id);
        const dataJson = JSON.stringify(data);
        for (
          const text of [
            encodeAfbReply(idJson, dataJson),
            encodeAfbError(idJson, "failed", name),
            encodeAfbEvent(name, dataJson),
          ]
        ) {
          assert.ok(!/\n/.test(text));
          assert.equal(text, JSON.stringify(JSON.parse(text)));
        }
        const call = decodeAfbMessage(
          JSON.stringify([2, id, "api/verb", data]),
        );
        assert.ok("kind" in call && call.kind === "call");
        assert.equal(call.idJson, idJson);
      },
    ),
    PARAMS,
  );
});

Deno.test("http head: split anywhere, a head parses the same; arbitrary bytes throw only EmError", () => {
  const head =
    "GET /api?token=x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nUpgrade: websocket\r\n\r\n";
  const bytes = new TextEncoder().encode(head + "REST");
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 5 }), (cuts) => {
      const reader = new HttpHeadReader();
      let done;
      for (const chunk of splitAt(bytes, cuts)) done ??= reader.push(chunk);
      assert.ok(done);
      assert.equal(done.head.target, "/api?token=x");
      assert.deepEqual(done.head.headers[1], ["content-length", "0"]);
    }),
    PARAMS,
  );
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 80 }),
      (chunks) => {
        const reader = new HttpHeadReader(4096);
        try {
          for (const chunk of chunks) if (reader.push(chunk)) break;
        } catch (error) {
          assert.ok(error instanceof EmError, String(error));
        }
      },
    ),
    PARAMS,
  );
});
