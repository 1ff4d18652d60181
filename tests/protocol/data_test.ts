import assert from "node:assert/strict";
import {
  agreedMaxMessage,
  CallError,
  compilePattern,
  decodeMessage,
  isValidPattern,
  isValidRequestId,
  jsonParam,
  maxMessageOf,
  parseJsonParam,
} from "../../protocol/mod.ts";

const encoder = new TextEncoder();

Deno.test("patterns: a star is any run of characters but a slash", () => {
  const table: [string, string, boolean][] = [
    ["speed/*", "speed/kmh-1Hz", true],
    ["speed/*", "speed/", true],
    ["speed/*", "speed/a/b", false],
    ["speed/*", "other/a", false],
    ["speed/*", "speed", false],
    ["*/kmh-*", "speed/kmh-1Hz", true],
    ["*", "build_done", true],
    ["*", "speed/x", false],
    ["a.b", "a.b", true],
    ["a.b", "axb", false], // the dot is literal
    ["speed/kmh-1Hz", "speed/kmh-1Hz", true],
    ["speed/kmh-1Hz", "speed/kmh-1Hz2", false],
  ];
  for (const [pattern, name, expected] of table) {
    assert.equal(
      compilePattern(pattern)(name),
      expected,
      `${pattern} ~ ${name}`,
    );
  }
});

Deno.test("patterns: a double star is any run of characters, slashes included", () => {
  const table: [string, string, boolean][] = [
    ["**", "build_done", true],
    ["**", "a/b/c", true],
    ["**", "speed/kmh-1Hz", true],
    ["***", "a/b/c", true],
    ["speed/**", "speed/a/b", true],
    ["speed/**", "speed/", true],
    ["speed/**", "speed", false],
    ["speed/**", "other/a/b", false],
    ["**/done", "a/b/done", true],
    ["**/done", "done", false],
    ["**/done", "a/b/done2", false],
    ["a/**/z", "a/z", false], // the slashes around ** are literal
    ["a/**/z", "a/b/z", true],
    ["a/**/z", "a/b/c/z", true],
    ["a**", "ab/c", true],
    ["*/**", "a", false],
    ["*/**", "a/b/c", true],
    ["a.**", "axb", false], // the dot stays literal
  ];
  for (const [pattern, name, expected] of table) {
    assert.equal(
      compilePattern(pattern)(name),
      expected,
      `${pattern} ~ ${name}`,
    );
  }
});

Deno.test("patterns: invalid patterns are refused", () => {
  for (
    const bad of [
      "",
      "/a",
      "-a",
      ".a",
      "a b",
      "a,b",
      "a;b",
      "é",
      "a".repeat(256),
    ]
  ) {
    assert.equal(isValidPattern(bad), false, bad);
    assert.throws(() => compilePattern(bad), TypeError);
  }
  for (
    const good of ["*", "**", "a/**", "a", "a/b-c.d_e", "*x*", "a".repeat(255)]
  ) {
    assert.equal(isValidPattern(good), true, good);
  }
});

Deno.test("hello m: the smaller offer wins; no offer keeps 4096", () => {
  const hello = (line: string) => {
    const decoded = decodeMessage(encoder.encode(line));
    assert.ok(decoded.ok);
    return decoded.message;
  };
  assert.equal(maxMessageOf(hello("H1.2;m524288")), 524288);
  assert.equal(maxMessageOf(hello("H1.2;a;m70000")), 70000);
  for (
    const line of [
      "H1.2",
      "H1.2;m",
      "H1.2;mabc",
      "H1.2;m12",
      "H1.2;m12345678901",
    ]
  ) {
    assert.equal(maxMessageOf(hello(line)), undefined, line);
  }
  assert.equal(agreedMaxMessage(524288, undefined), 4096);
  assert.equal(agreedMaxMessage(524288, 70000), 70000);
  assert.equal(agreedMaxMessage(70000, 524288), 70000);
  assert.equal(agreedMaxMessage(524288, 1000), 4096);
});

Deno.test("request ids: 1 to 32 characters of [A-Za-z0-9_-]", () => {
  for (const good of ["1", "a-b_C", "x".repeat(32)]) {
    assert.equal(isValidRequestId(good), true, good);
  }
  for (const bad of ["", "x".repeat(33), "a.b", "a/b", "a b"]) {
    assert.equal(isValidRequestId(bad), false, bad);
  }
});

Deno.test("JSON params: parse faults are values; unwritable data is a TypeError", () => {
  assert.deepEqual(parseJsonParam(undefined), { value: undefined });
  assert.deepEqual(parseJsonParam('{"a":[1]}'), { value: { a: [1] } });
  const fault = parseJsonParam("{oops");
  assert.ok("fault" in fault && fault.fault.startsWith("invalid JSON: "));
  assert.equal(jsonParam(undefined), undefined);
  assert.equal(jsonParam({ a: "é" }), '{"a":"é"}');
  assert.throws(() => jsonParam(1n), TypeError);
  assert.throws(() => jsonParam(() => 1), TypeError);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(() => jsonParam(cycle), TypeError);
});

Deno.test("CallError: an EmError with code failed and the wire failure", () => {
  const error = new CallError("unknown-verb", 'No verb "a/b"');
  assert.equal(error.code, "failed");
  assert.equal(error.failure, "unknown-verb");
  assert.equal(error.name, "CallError");
  assert.equal(error.message, 'No verb "a/b"');
});
