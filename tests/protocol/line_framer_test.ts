import assert from "node:assert/strict";
import { EmError, LineFramer, MAX_LINE_BYTES } from "../../protocol/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Pushes each chunk through one framer; returns the lines as text, copied as they arrive. */
function frame(
  chunks: readonly (string | Uint8Array)[],
  framer = new LineFramer(),
): string[] {
  const lines: string[] = [];
  for (const chunk of chunks) {
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    framer.push(bytes, (line) => void lines.push(decoder.decode(line)));
  }
  return lines;
}

/** Every way of cutting `text` into two chunks, plus byte at a time. */
function splits(text: string): string[][] {
  const ways: string[][] = [];
  for (let cut = 0; cut <= text.length; cut++) {
    ways.push([text.slice(0, cut), text.slice(cut)]);
  }
  ways.push([...text]);
  return ways;
}

const LINE_END_CASES: [string, string, string[]][] = [
  ["\\n", "Ta\n", ["Ta"]],
  ["\\r", "Ta\r", ["Ta"]],
  ["\\r\\n", "Ta\r\n", ["Ta"]],
  ["mixed", "Ta\nTb\rTc\r\nTd\n", ["Ta", "Tb", "Tc", "Td"]],
  ["\\n\\r is two line ends", "Ta\n\rTb\n", ["Ta", "", "Tb"]],
  ["\\r\\r is two line ends", "Ta\r\rTb\r", ["Ta", "", "Tb"]],
  ["\\r\\n\\n is two line ends", "Ta\r\n\nTb\n", ["Ta", "", "Tb"]],
  ["empty lines", "\n\r\n\r", ["", "", ""]],
  ["no line end yet", "Ta", []],
];

for (const [what, text, expected] of LINE_END_CASES) {
  Deno.test(`LineFramer: line end ${what}, in one chunk`, () => {
    assert.deepEqual(frame([text]), expected);
  });

  Deno.test(`LineFramer: line end ${what}, at every split point`, () => {
    for (const chunks of splits(text)) {
      assert.deepEqual(frame(chunks), expected, JSON.stringify(chunks));
    }
  });
}

Deno.test("LineFramer: \\r ending one chunk and \\n starting the next are one line end", () => {
  assert.deepEqual(frame(["Ta\r", "\nTb\n"]), ["Ta", "Tb"]);
  assert.deepEqual(frame(["Ta\r", "\n"]), ["Ta"]);
  assert.deepEqual(frame(["Ta\r", "", "\nTb\n"]), ["Ta", "Tb"]); // empty chunks change nothing
});

Deno.test("LineFramer: a \\n after a \\r two chunks later is a line end of its own", () => {
  assert.deepEqual(frame(["Ta\r", "Tb", "\n"]), ["Ta", "Tb"]);
  assert.deepEqual(frame(["Ta\r", "Tb\r", "\n"]), ["Ta", "Tb"]);
});

Deno.test("LineFramer: every split point of a multi-message stream", () => {
  const text = "H1.1;amy app\r\nF1\rTbuild_done\nTx\r\nQserver\r";
  const expected = ["H1.1;amy app", "F1", "Tbuild_done", "Tx", "Qserver"];
  for (let a = 0; a <= text.length; a++) {
    for (let b = a; b <= text.length; b++) {
      const chunks = [text.slice(0, a), text.slice(a, b), text.slice(b)];
      assert.deepEqual(frame(chunks), expected, JSON.stringify(chunks));
    }
  }
});

Deno.test("LineFramer: byte at a time", () => {
  const text = "Ta\r\nTb\rTc\n\r\n";
  assert.deepEqual(frame([...text]), ["Ta", "Tb", "Tc", ""]);
});

Deno.test("LineFramer: many messages per chunk", () => {
  const names = Array.from({ length: 1000 }, (_, i) => `Tevent_${i}`);
  const ends = ["\n", "\r", "\r\n"];
  const text = names.map((name, i) => name + ends[i % 3]).join("");
  assert.deepEqual(frame([text]), names);
  assert.deepEqual(frame([text.slice(0, 5001), text.slice(5001)]), names);
});

Deno.test("LineFramer: a line is a view of the chunk unless it spans chunks", () => {
  const framer = new LineFramer();
  const chunk = encoder.encode("Ta\nTb");
  const seen: Uint8Array[] = [];
  framer.push(chunk, (line) => void seen.push(line));
  assert.equal(seen[0]!.buffer, chunk.buffer);
  framer.push(encoder.encode("c\n"), (line) => void seen.push(line));
  assert.equal(decoder.decode(seen[1]), "Tbc");
  assert.equal(framer.pendingBytes, 0);
});

Deno.test("LineFramer: onLine returning false stops framing and drops the rest", () => {
  const framer = new LineFramer();
  const lines: string[] = [];
  framer.push(encoder.encode("Ta\nTb\nTc"), (line) => {
    lines.push(decoder.decode(line));
    return false;
  });
  assert.deepEqual(lines, ["Ta"]);
  assert.equal(framer.pendingBytes, 0);
});

/** A message of `total` bytes counting a one-byte line end. */
function messageOf(total: number): string {
  return "T" + "x".repeat(total - 2);
}

// A receiver counts one byte for any line end: 4095 bytes of message pass even before "\r\n"
// (senders keep the whole message, "\r\n" included, within 4096; docs/PROTOCOL.md).
const LIMIT_CASES: [string, string][] = [
  ["\\n", "\n"],
  ["\\r", "\r"],
  ["\\r\\n", "\r\n"],
];

for (const [what, end] of LIMIT_CASES) {
  Deno.test(`LineFramer: ${MAX_LINE_BYTES} bytes with ${what} pass, at every split point`, () => {
    const line = messageOf(MAX_LINE_BYTES);
    const text = line + end + "Tnext\n";
    assert.deepEqual(frame([text]), [line, "Tnext"]);
    for (const cut of [1, 2, 100, 4094, 4095, 4096, 4097]) {
      assert.deepEqual(frame([text.slice(0, cut), text.slice(cut)]), [
        line,
        "Tnext",
      ]);
    }
  });

  Deno.test(
    `LineFramer: ${
      MAX_LINE_BYTES + 1
    } bytes with ${what} throw, at every split point`,
    () => {
      const text = messageOf(MAX_LINE_BYTES + 1) + end;
      for (let cut = 0; cut <= text.length; cut += cut < 10 ? 1 : 511) {
        assert.throws(
          () => frame([text.slice(0, cut), text.slice(cut)]),
          (error) =>
            error instanceof EmError && error.code === "protocol" &&
            error.message === "Cannot read message: over 4096 bytes",
          `cut at ${cut}`,
        );
      }
    },
  );
}

Deno.test("LineFramer: an unfinished tail throws as soon as its line end cannot fit", () => {
  const framer = new LineFramer();
  frame([messageOf(MAX_LINE_BYTES)], framer); // 4095 bytes held: the line end still fits
  assert.equal(framer.pendingBytes, MAX_LINE_BYTES - 1);
  assert.throws(() => frame(["x"], framer), EmError); // 4096 bytes: no room for the line end
  assert.equal(framer.pendingBytes, 0); // nothing kept past the limit
});

Deno.test("LineFramer: a tail past the limit throws in one chunk and byte at a time", () => {
  assert.throws(() => frame(["x".repeat(MAX_LINE_BYTES)]), EmError);
  const framer = new LineFramer();
  let thrownAt = -1;
  for (let i = 0; i < MAX_LINE_BYTES + 10 && thrownAt === -1; i++) {
    try {
      frame(["x"], framer);
    } catch (error) {
      assert.ok(error instanceof EmError);
      thrownAt = i + 1;
    }
  }
  assert.equal(thrownAt, MAX_LINE_BYTES);
});

Deno.test("LineFramer: a custom limit applies at N and N+1", () => {
  assert.deepEqual(frame(["Tabc\n"], new LineFramer(5)), ["Tabc"]);
  assert.throws(() => frame(["Tabcd\n"], new LineFramer(5)), /over 5 bytes/);
  const framer = new LineFramer(5);
  framer.maxLineBytes = 6;
  assert.equal(framer.maxLineBytes, 6);
  assert.deepEqual(frame(["Tabcd\n"], framer), ["Tabcd"]);
});
