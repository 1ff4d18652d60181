import assert from "node:assert/strict";
import {
  assertName,
  isValidExtendedName,
  isValidName,
} from "../../protocol/mod.ts";

/** [name, valid in 1.1, valid extended (1.2)] */
const NAMES: [string, boolean, boolean][] = [
  ["a", true, true],
  ["build_done", true, true],
  ["Z9_", true, true],
  ["_", true, true],
  ["0", true, true],
  ["x".repeat(255), true, true],
  ["x".repeat(256), false, false],
  ["", false, false],
  ["speed/speed-kmh-1Hz", false, true],
  ["a.b", false, true],
  ["a..b//c--", false, true],
  ["_/a", false, true],
  ["/a", false, false],
  [".a", false, false],
  ["-a", false, false],
  ["a b", false, false],
  ["a;b", false, false],
  ["a,b", false, false],
  ["a\\b", false, false],
  ["é", false, false],
  ["a\n", false, false],
  ["a:b", false, false],
];

for (const [name, valid, extended] of NAMES) {
  const label = JSON.stringify(name.length > 20 ? `${name.length} × x` : name);
  Deno.test(`isValidName: ${label} is ${valid ? "valid" : "invalid"}`, () => {
    assert.equal(isValidName(name), valid);
  });
  Deno.test(`isValidExtendedName: ${label} is ${extended ? "valid" : "invalid"}`, () => {
    assert.equal(isValidExtendedName(name), extended);
  });
}

Deno.test("assertName: throws TypeError naming the event and the rule", () => {
  assert.throws(() => assertName("a b"), {
    name: "TypeError",
    message:
      'Invalid event name "a b": use 1 to 255 characters of [A-Za-z0-9_]',
  });
  assert.throws(() => assertName("/a", true), {
    name: "TypeError",
    message:
      'Invalid event name "/a": use 1 to 255 characters of [A-Za-z0-9_./-], not starting ' +
      "with . / -",
  });
  assertName("build_done");
  assertName("speed/kmh", true);
  assert.throws(() => assertName("speed/kmh"), TypeError);
});
