import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { isPlainTrigger, TriggerRunScanner } from "../../protocol/mod.ts";

const encoder = new TextEncoder();
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);

function scan(text: string | Uint8Array): [number, number] {
  const scanner = new TriggerRunScanner();
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  return [scanner.scan(bytes), scanner.lines];
}

const N255 = "n".repeat(255);
const CASES: [string, string, [number, number]][] = [
  ["empty input", "", [0, 0]],
  ["one line", "Ta\n", [3, 1]],
  ["a run", "Ta\nTb_9\nTZ\n", [11, 3]],
  ["an unfinished line ends the run", "Ta\nTb", [3, 1]],
  ["a line end alone is not a trigger", "\nTa\n", [0, 0]],
  ["no name", "T\nTa\n", [0, 0]],
  ["255 name bytes", `T${N255}\n`, [257, 1]],
  ["256 name bytes", `Ta\nT${N255}n\nTb\n`, [3, 1]],
  ["255 name bytes, unfinished", `T${N255}`, [0, 0]],
  ["\\r\\n is left to the framer", "Ta\nTb\r\nTc\n", [3, 1]],
  ["\\r alone", "Ta\r", [0, 0]],
  ["an option", "Ta\nTb;f\n", [3, 1]],
  ["a parameter", "Ta\nTb,x\n", [3, 1]],
  ["an escape", "Ta\nT\\x41\n", [3, 1]],
  ["a 1.2 name", "Ta\nTb/c\n", [3, 1]],
  ["not ASCII", "Ta\nT\u00e9\n", [3, 1]],
  ["another command", "Ta\np1\nTb\n", [3, 1]],
  ["lower-case t", "ta\n", [0, 0]],
  ["every name byte", "T09AZaz_\n", [9, 1]],
  ...[..."/:@[`{"].map((c): [string, string, [number, number]] => [
    `"${c}" next to the name classes`,
    `Ta\nTa${c}\n`,
    [3, 1],
  ]),
];

for (const [what, text, expected] of CASES) {
  Deno.test(`TriggerRunScanner: ${what}`, () => {
    assert.deepEqual(scan(text), expected);
  });
}

/** The same rule line by line: split at "\n", stop at the first line that is not plain. */
function reference(bytes: Uint8Array): [number, number] {
  let start = 0, lines = 0;
  for (;;) {
    const lf = bytes.indexOf(0x0a, start);
    if (lf === -1 || !isPlainTrigger(bytes.subarray(start, lf))) break;
    start = lf + 1;
    lines++;
  }
  return [start, lines];
}

Deno.test("TriggerRunScanner: any bytes give what the line-by-line rule gives", () => {
  const unit = fc.constantFrom( // the name classes' edges: / 0 9 : @ A Z [ _ ` a z {
    ..."Tab_Z9\n\r;,\\-/0:@A[`z{".split("").map((c) => c.charCodeAt(0)),
    0xc3,
    0xe1, // "a" with bit 0x80: not a name byte
    0x00,
  );
  const line = fc.oneof(
    fc.array(unit, { maxLength: 20 }),
    fc.nat({ max: 300 }).map((n) => [0x54, ...Array(n).fill(0x61), 0x0a]),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), (parts) => {
      const bytes = Uint8Array.from(parts.flat());
      assert.deepEqual(scan(bytes), reference(bytes));
    }),
    { seed: SEED, numRuns: 2000 },
  );
});
