import assert from "node:assert/strict";
import {
  encodeCommand,
  parseReply,
  RespError,
  type RespValue,
} from "../../bench/_resp.ts";

const encoder = new TextEncoder();

Deno.test("resp: a command is an array of bulk strings, lengths in bytes", () => {
  assert.deepEqual(
    new TextDecoder().decode(encodeCommand(["SET", "k", "é"])),
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n",
  );
});

Deno.test("resp: each reply type parses whole, and an unfinished one waits for more bytes", () => {
  const cases: [string, RespValue][] = [
    ["+OK\r\n", "OK"],
    [":42\r\n", 42],
    ["$5\r\nhello\r\n", "hello"],
    ["$0\r\n\r\n", ""],
    ["$-1\r\n", null],
    ["*2\r\n:1\r\n$1\r\nx\r\n", [1, "x"]],
    ["*-1\r\n", null],
  ];
  for (const [text, value] of cases) {
    const bytes = encoder.encode(text + "+next\r\n");
    assert.deepEqual(parseReply(bytes, 0), { value, next: text.length }, text);
    for (let cut = 0; cut < text.length; cut++) {
      const partial = encoder.encode(text.slice(0, cut));
      assert.equal(parseReply(partial, 0), undefined, `${text} cut at ${cut}`);
    }
  }
  const error = parseReply(encoder.encode("-ERR wrong\r\n"), 0);
  assert.ok(error?.value instanceof RespError);
  assert.equal(error.value.message, "ERR wrong");
  assert.throws(() => parseReply(encoder.encode("?x\r\n"), 0), RespError);
});
