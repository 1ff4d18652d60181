import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { CODE_POINT } from "./_code_point.ts";
import {
  decodeParam,
  encodeParam,
  escapeBytes,
  isParamByte,
  unescapeBytes,
} from "../../protocol/mod.ts";

const encoder = new TextEncoder();
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

function isPlain(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e && byte !== 0x3b && byte !== 0x2c &&
    byte !== 0x5c;
}

Deno.test("isParamByte: printable ASCII but ; , \\", () => {
  for (const byte of ALL_BYTES) {
    assert.equal(isParamByte(byte), isPlain(byte), `byte ${byte}`);
  }
});

Deno.test("escapeBytes: every byte that may not travel becomes \\xHH in upper-case hex", () => {
  for (const byte of ALL_BYTES) {
    const expected = isPlain(byte)
      ? String.fromCharCode(byte)
      : "\\x" + byte.toString(16).toUpperCase().padStart(2, "0");
    assert.equal(escapeBytes(Uint8Array.of(byte)), expected, `byte ${byte}`);
  }
});

Deno.test("escapeBytes: plain runs stay as they are between escapes", () => {
  assert.equal(escapeBytes(encoder.encode("ab;cd,e")), "ab\\x3Bcd\\x2Ce");
  assert.equal(escapeBytes(new Uint8Array(0)), "");
  assert.equal(escapeBytes(encoder.encode("plain")), "plain");
});

Deno.test("unescapeBytes: undoes escapeBytes for all 256 bytes", () => {
  const escaped = encoder.encode(escapeBytes(ALL_BYTES));
  assert.deepEqual(unescapeBytes(escaped), ALL_BYTES);
});

Deno.test("unescapeBytes: accepts lower- and upper-case hex", () => {
  assert.deepEqual(
    unescapeBytes(encoder.encode("\\xff\\xFF\\xaB\\x0a")),
    Uint8Array.of(255, 255, 171, 10),
  );
});

Deno.test("unescapeBytes: bad escapes and unescaped bytes are faults", () => {
  const cases: [string, RegExp][] = [
    ["\\", /bad escape at offset 0/],
    ["ab\\x", /bad escape at offset 2/],
    ["\\x1", /bad escape/],
    ["\\x1z", /bad escape/],
    ["\\X41", /bad escape/],
    ["\\u0041", /bad escape/],
    ["a;b", /byte 0x3B at offset 1 must be escaped/],
    ["a,b", /byte 0x2C at offset 1 must be escaped/],
    ["a\\x41\n", /byte 0x0A at offset 5 must be escaped/],
    ["\x7f", /byte 0x7F at offset 0/],
  ];
  for (const [text, fault] of cases) {
    const result = unescapeBytes(encoder.encode(text));
    assert.equal(typeof result, "string", JSON.stringify(text));
    assert.match(result as string, fault);
  }
});

Deno.test("unescapeBytes: reads back any bytes escapeBytes wrote", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    assert.deepEqual(unescapeBytes(encoder.encode(escapeBytes(bytes))), bytes);
  }));
});

Deno.test("encodeParam: UTF-8 then escapes, upper-case hex", () => {
  assert.equal(encodeParam("build_done"), "build_done");
  assert.equal(encodeParam("a;b,c\\d"), "a\\x3Bb\\x2Cc\\x5Cd");
  assert.equal(encodeParam("é"), "\\xC3\\xA9");
  assert.equal(encodeParam("\r\n\0"), "\\x0D\\x0A\\x00");
  assert.equal(encodeParam("😀"), "\\xF0\\x9F\\x98\\x80");
  assert.equal(encodeParam(""), "");
});

Deno.test("decodeParam: undoes encodeParam for any string", () => {
  fc.assert(
    fc.property(fc.string({ unit: CODE_POINT, maxLength: 32 }), (value) => {
      assert.equal(decodeParam(encoder.encode(encodeParam(value))), value);
    }),
  );
});

Deno.test("decodeParam: lower-case hex is accepted", () => {
  assert.equal(decodeParam(encoder.encode("\\xc3\\xa9\\x3b")), "é;");
});

Deno.test("decodeParam: bad escapes and invalid UTF-8 are faults", () => {
  assert.deepEqual(decodeParam(encoder.encode("\\xZZ")), {
    fault: "bad escape at offset 0: expected \\xHH",
  });
  assert.deepEqual(decodeParam(encoder.encode("\\xC3")), {
    fault: "escaped bytes are not valid UTF-8",
  });
});
