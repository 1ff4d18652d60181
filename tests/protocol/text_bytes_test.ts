// textBytes: UTF-8 like TextEncoder for any text, and bytes once returned never change, however
// many texts share a slab with them or come after it is full.
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import {
  MAX_SLAB_TEXT,
  TEXT_SLAB_BYTES,
  textBytes,
} from "../../protocol/mod.ts";

const NUM_RUNS = Number(Deno.env.get("EM_FC_RUNS") ?? 300);
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);
const encoder = new TextEncoder();

// deno-lint-ignore no-console
console.log(`text bytes properties: ${NUM_RUNS} runs, seed ${SEED}`);

const text = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 20 }), // non-ASCII: a buffer of its own
  fc.string({ minLength: MAX_SLAB_TEXT - 2, maxLength: MAX_SLAB_TEXT + 2 }),
);

Deno.test("textBytes: UTF-8 of any texts, earlier bytes unchanged by later texts", () => {
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 200 }), (texts) => {
      const made = texts.map((t) => textBytes(t));
      for (let i = 0; i < 2 * TEXT_SLAB_BYTES / 8; i++) textBytes("1234567"); // fills slabs
      texts.forEach((t, i) => assert.deepEqual(made[i], encoder.encode(t)));
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
});

Deno.test("textBytes: a non-ASCII text in mid-copy leaves no trace in the next text's bytes", () => {
  const first = textBytes("abc\u00e9def");
  const second = textBytes("xyz");
  assert.deepEqual(first, encoder.encode("abc\u00e9def"));
  assert.deepEqual(second, encoder.encode("xyz"));
  assert.equal(second.byteLength, 3);
});
