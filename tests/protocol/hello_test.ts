import assert from "node:assert/strict";
import {
  type Block,
  decodeMessage,
  encodeMessage,
  type Hello,
  helloBlocks,
  isCompatible,
  parseFlags,
  parseHello,
  PROTOCOL_MAJOR,
  PROTOCOL_VERSION,
} from "../../protocol/mod.ts";

const encoder = new TextEncoder();

function hello(text: string): Hello | { fault: string } {
  const decoded = decodeMessage(encoder.encode(text));
  assert.ok(decoded.ok, text);
  return parseHello(decoded.message);
}

const GOOD: [string, Hello][] = [
  ["H1.1", { major: 1, minor: 1 }],
  ["H1,1", { major: 1, minor: 1 }],
  ["H1.2", { major: 1, minor: 2 }],
  ["H1,2", { major: 1, minor: 2 }],
  ["H1", { major: 1, minor: 0 }],
  ["H2.0", { major: 2, minor: 0 }], // readable, but incompatible: see isCompatible
  ["H1.1;amy app", { major: 1, minor: 1, appName: "my app" }],
  ["H1,1;amy\\x2Capp", { major: 1, minor: 1, appName: "my,app" }],
  ["H1.1;a", { major: 1, minor: 1 }], // an empty application name is none
  ["H1.1;zunknown;amy app", { major: 1, minor: 1, appName: "my app" }],
  ["H1.1;afirst;asecond", { major: 1, minor: 1, appName: "first" }],
];

for (const [text, expected] of GOOD) {
  Deno.test(`parseHello: reads ${JSON.stringify(text)}`, () => {
    assert.deepEqual(hello(text), expected);
  });
}

const BAD: [string, RegExp][] = [
  ["T1.1", /expected a hello "H", got "T"/],
  ["h1.1", /expected a hello "H", got "h"/],
  ["H", /bad hello version ""/],
  ["H1.1.1", /bad hello version "1.1.1"/],
  ["H1,1,1", /bad hello version "1,1,1"/],
  ["H1.1,1", /bad hello version/],
  ["Ha.b", /bad hello version "a.b"/],
  ["H1.", /bad hello version/],
  ["H.1", /bad hello version/],
  ["H-1.1", /bad hello version/],
  ["H1.1x", /bad hello version/],
  ["H 1.1", /bad hello version/],
  ["H1234567890.1", /bad hello version/],
];

for (const [text, fault] of BAD) {
  Deno.test(`parseHello: refuses ${JSON.stringify(text)}`, () => {
    const result = hello(text);
    assert.ok("fault" in result);
    assert.match(result.fault, fault);
  });
}

Deno.test("isCompatible: only the same major version", () => {
  assert.equal(isCompatible({ major: PROTOCOL_MAJOR, minor: 0 }), true);
  assert.equal(isCompatible({ major: 1, minor: 1 }), true);
  assert.equal(isCompatible({ major: 1, minor: 99 }), true);
  assert.equal(isCompatible({ major: 0, minor: 9 }), false);
  assert.equal(isCompatible({ major: 2, minor: 0 }), false);
});

Deno.test("helloBlocks: encodes as H<version> with options", () => {
  const ours = helloBlocks(PROTOCOL_VERSION, [{
    letter: "a",
    params: ["em test"],
  }]);
  assert.equal(encodeMessage(ours.command, ours.options), "H1.2;aem test");
  const bare = helloBlocks("1.1");
  assert.equal(encodeMessage(bare.command, bare.options), "H1.1");
  assert.equal(PROTOCOL_VERSION, "1.2");
});

function flags(...params: string[]): number | { fault: string } {
  const command: Block = { letter: "F", params };
  return parseFlags(command);
}

Deno.test("parseFlags: reads an integer", () => {
  assert.equal(flags("0"), 0);
  assert.equal(flags("1"), 1);
  assert.equal(flags("3"), 3);
  assert.equal(flags("2"), 2);
  assert.equal(flags("007"), 7);
  assert.equal(flags("999999999"), 999999999);
});

Deno.test("parseFlags: refuses anything but one integer", () => {
  for (
    const params of [[], [""], ["-1"], ["1.0"], ["x"], ["1", "1"], [" 1"], [
      "1234567890",
    ]]
  ) {
    const result = flags(...params);
    assert.equal(typeof result, "object", JSON.stringify(params));
    assert.match(
      (result as { fault: string }).fault,
      /^bad flags ".*": expected an integer$/,
    );
  }
});
