import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { CODE_POINT } from "./_code_point.ts";
import {
  type Block,
  decodeMessage,
  encodeMessage,
  findOption,
  isLetter,
  isRequired,
  type Message,
  unknownRequiredOption,
} from "../../protocol/mod.ts";

const encoder = new TextEncoder();

function decode(text: string | Uint8Array, maxParamChars = 255) {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  return decodeMessage(bytes, { maxLineBytes: 4096, maxParamChars });
}

function block(letter: string, ...params: string[]): Block {
  return { letter, params };
}

function message(command: Block, ...options: Block[]): Message {
  return { command, options };
}

const VALID: [string, string, Message][] = [
  ["a command letter alone has no parameters", "T", message(block("T"))],
  ["one parameter", "Tbuild_done", message(block("T", "build_done"))],
  ["parameters split at commas", "Ta,b,c", message(block("T", "a", "b", "c"))],
  [
    "a lone comma makes two empty parameters",
    "T,",
    message(block("T", "", "")),
  ],
  [
    "a trailing comma adds an empty parameter",
    "Ta,",
    message(block("T", "a", "")),
  ],
  [
    "a leading comma adds an empty parameter",
    "T,a",
    message(block("T", "", "a")),
  ],
  ["a lower-case command", "pabc", message(block("p", "abc"))],
  ["spaces and punctuation are plain", "Ta b~!", message(block("T", "a b~!"))],
  [
    "an option block after ;",
    "H1.1;amy app",
    message(block("H", "1.1"), block("a", "my app")),
  ],
  [
    "several option blocks, some bare",
    "H1,1;a;Bx,y;c",
    message(block("H", "1", "1"), block("a"), block("B", "x", "y"), block("c")),
  ],
  ["an upper-case hex escape", "Tx\\x3Bb", message(block("T", "x;b"))],
  ["a lower-case hex escape", "Tx\\x3bb", message(block("T", "x;b"))],
  ["mixed-case hex", "T\\xc3\\xA9", message(block("T", "é"))],
  ["an escaped backslash", "T\\x5C", message(block("T", "\\"))],
  ["an escaped line end", "T\\x0D\\x0A", message(block("T", "\r\n"))],
  ["an escaped NUL", "T\\x00", message(block("T", "\0"))],
  [
    "escapes in options",
    "Ta;b\\x2C",
    message(block("T", "a"), block("b", ",")),
  ],
];

for (const [rule, text, expected] of VALID) {
  Deno.test(`decodeMessage: ${rule}`, () => {
    assert.deepEqual(decode(text), { ok: true, message: expected });
  });
}

/** [rule, line, fault pattern]; the connection must close: the peer does not speak the protocol. */
const CLOSING: [string, string | Uint8Array, RegExp][] = [
  ["a digit where a letter belongs", "1T", /block at offset 0/],
  ["an empty command block", ";T", /block at offset 0/],
  ["a trailing empty option block", "Ta;", /block at offset 3/],
  ["an empty option block between two", "Ta;;b", /block at offset 3/],
  ["an option starting with a digit", "Ta;1", /block at offset 3/],
  ["a comma where a letter belongs", ",a", /block at offset 0/],
  ["a NUL byte", "Ta\0b", /byte 0x00 at offset 2/],
  ["a leading NUL byte", "\0", /byte 0x00 at offset 0/],
  ["a tab", "T\ta", /byte 0x09 at offset 1/],
  ["DEL", "Ta\x7f", /byte 0x7F at offset 2/],
  ["non-ASCII UTF-8", "Tcafé", /byte 0xC3 at offset 4/],
  ["a high byte", new Uint8Array([0x54, 0xff]), /byte 0xFF at offset 1/],
  ["binary garbage", new Uint8Array([0x89, 0x50, 0x4e, 0x47]), /byte 0x89/],
];

for (const [rule, line, fault] of CLOSING) {
  Deno.test(`decodeMessage: ${rule} closes the connection`, () => {
    const result = decode(line);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.closes, "closes");
    assert.match(!result.ok ? result.fault : "", fault);
  });
}

/** [rule, line, fault pattern]; only this message is bad: it is dropped, the connection stays. */
const DROPPING: [string, string, RegExp][] = [
  [
    "a parameter of 256 characters",
    "T" + "x".repeat(256),
    /parameter 1 of "T" is over 255/,
  ],
  [
    "256 characters counting escapes as sent",
    "T" + "\\x41".repeat(64),
    /parameter 1 of "T" is over 255/,
  ],
  [
    "an over-long second parameter",
    "Ta," + "x".repeat(256),
    /parameter 2 of "T" is over 255/,
  ],
  [
    "an over-long option parameter",
    "Ta;b" + "x".repeat(256),
    /parameter 1 of "b" is over 255/,
  ],
  ["a lone backslash", "Ta\\", /bad escape at offset 1/],
  ["a backslash before a comma", "T\\,a", /bad escape at offset 0/],
  ["\\x without digits", "T\\x", /bad escape/],
  ["\\x with one digit", "T\\x4", /bad escape/],
  ["\\x with one digit then a letter", "T\\x4g", /bad escape/],
  ["a non-hex digit", "T\\xG0", /bad escape/],
  ["an upper-case X", "T\\X41", /bad escape/],
  ["another escape letter", "T\\n", /bad escape/],
  ["escaped bytes that are not UTF-8", "T\\xFF", /not valid UTF-8/],
];

for (const [rule, line, fault] of DROPPING) {
  Deno.test(`decodeMessage: ${rule} drops only the message`, () => {
    const result = decode(line);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && !result.closes, "does not close");
    assert.match(!result.ok ? result.fault : "", fault);
  });
}

Deno.test("decodeMessage: an empty line is a fault that does not close", () => {
  assert.deepEqual(decode(""), {
    ok: false,
    fault: "empty message",
    closes: false,
  });
});

Deno.test("decodeMessage: a parameter of 255 characters as sent passes, escapes included", () => {
  const plain = "x".repeat(255);
  assert.deepEqual(decode("T" + plain), {
    ok: true,
    message: message(block("T", plain)),
  });
  const escaped = "\\x41".repeat(63) + "xyz"; // 252 + 3 = 255 characters, 66 after decoding
  assert.deepEqual(decode("T" + escaped), {
    ok: true,
    message: message(block("T", "A".repeat(63) + "xyz")),
  });
});

Deno.test("decodeMessage: the parameter limit is the one given", () => {
  assert.equal(decode("Tabc", 3).ok, true);
  assert.equal(decode("Tabcd", 3).ok, false);
  assert.equal(decode("Ta,abc;babc", 3).ok, true);
  assert.equal(decode("Ta,abc;babcd", 3).ok, false);
});

Deno.test("encodeMessage: writes blocks, options after ;, parameters after commas", () => {
  assert.equal(encodeMessage(block("T", "build_done")), "Tbuild_done");
  assert.equal(encodeMessage(block("Q")), "Q");
  assert.equal(
    encodeMessage(block("H", "1.2"), [block("a", "my app"), block("b")]),
    "H1.2;amy app;b",
  );
  assert.equal(encodeMessage(block("e", "x", "", "y")), "ex,,y");
});

Deno.test("encodeMessage: escapes ; , \\ and non-printable bytes with upper-case hex", () => {
  assert.equal(
    encodeMessage(block("T", "a;b,c\\d\n\0é")),
    "Ta\\x3Bb\\x2Cc\\x5Cd\\x0A\\x00\\xC3\\xA9",
  );
});

Deno.test("encodeMessage: a letter that is not one ASCII letter throws RangeError", () => {
  for (const letter of ["", "TT", "1", ";", "é"]) {
    assert.throws(
      () => encodeMessage(block(letter)),
      RangeError,
      JSON.stringify(letter),
    );
    assert.throws(
      () => encodeMessage(block("T"), [block(letter)]),
      RangeError,
      JSON.stringify(letter),
    );
  }
});

Deno.test("encodeMessage: decodeMessage reads back what it wrote", () => {
  const letter = fc.constantFrom(..."AZaz".split(""), "T", "H", "p");
  const param = fc.string({ unit: CODE_POINT, maxLength: 20 });
  const blockArb = fc.tuple(letter, fc.array(param, { maxLength: 4 })).map((
    [letter, params],
  ): Block => ({
    letter,
    params: params.length === 1 && params[0] === "" ? [] : params, // one empty parameter = none
  }));
  fc.assert(
    fc.property(
      blockArb,
      fc.array(blockArb, { maxLength: 3 }),
      (command, options) => {
        const decoded = decode(encodeMessage(command, options), 4096);
        assert.deepEqual(decoded, { ok: true, message: { command, options } });
      },
    ),
  );
});

Deno.test("isLetter: only ASCII letters", () => {
  for (let byte = 0; byte < 256; byte++) {
    const expected = (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a);
    assert.equal(isLetter(byte), expected, `byte ${byte}`);
  }
  assert.equal(isLetter(undefined), false);
});

Deno.test("isRequired: upper case must be understood, lower case may be ignored", () => {
  for (const letter of "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
    assert.equal(isRequired(letter), true);
  }
  for (const letter of "abcdefghijklmnopqrstuvwxyz") {
    assert.equal(isRequired(letter), false);
  }
  assert.equal(isRequired(""), false);
  assert.equal(isRequired("1"), false);
});

Deno.test("unknownRequiredOption: names the first upper-case option not known", () => {
  const msg = message(
    block("T", "x"),
    block("a"),
    block("X"),
    block("b"),
    block("Y"),
  );
  assert.equal(unknownRequiredOption(msg, ""), "X");
  assert.equal(unknownRequiredOption(msg, "X"), "Y");
  assert.equal(unknownRequiredOption(msg, "XY"), undefined);
  assert.equal(
    unknownRequiredOption(message(block("T"), block("a"), block("z")), ""),
    undefined,
  );
  assert.equal(unknownRequiredOption(message(block("T")), ""), undefined);
});

Deno.test("findOption: the first option with the letter", () => {
  const msg = message(
    block("H", "1.1"),
    block("a", "first"),
    block("a", "second"),
  );
  assert.deepEqual(findOption(msg, "a"), block("a", "first"));
  assert.equal(findOption(msg, "A"), undefined);
  assert.equal(findOption(msg, "H"), undefined); // the command is not an option
});
