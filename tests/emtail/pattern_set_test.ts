import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import {
  PatternError,
  PatternSet,
  translateJavaPattern,
} from "../../client/pattern_set.ts";

function rejects(pattern: string): PatternError {
  try {
    new PatternSet([{ event: "e", pattern, line: 7 }]);
  } catch (error) {
    assert.ok(error instanceof PatternError, String(error));
    assert.equal(error.line, 7);
    assert.match(error.message, /^Cannot compile the pattern of "e"/);
    return error;
  }
  assert.fail(`"${pattern}" compiled`);
}

Deno.test("pattern set: Java syntax JavaScript lacks is rejected, not misread", () => {
  for (
    const pattern of [
      "a*+", // possessive
      "(?>a)", // atomic group
      "\\z", // end of input
      "\\h", // horizontal whitespace
      "[a-z&&[^aeiou]]", // class intersection
      "(?x) a", // comments flag
      "(?i)a(?-i)b", // flags in the middle
      "unclosed(",
      "a{",
      "\\",
      "[\\P{Alpha}]", // negated POSIX class inside a class
      "\\p{IsLatin}", // Java-only property names
    ]
  ) {
    rejects(pattern);
  }
});

Deno.test("pattern set: an invalid event name fails with its line", () => {
  for (const event of ["", "has space", "dash-ed", "x".repeat(256)]) {
    assert.throws(
      () => new PatternSet([{ event, pattern: "a", line: 3 }]),
      (error) =>
        error instanceof PatternError && error.line === 3 &&
        error.message.startsWith("Invalid event name"),
    );
  }
});

Deno.test("pattern set: Java escapes are translated", () => {
  const cases: [string, string, boolean][] = [
    ["there were [1-9]\\d* failures", "there were 12 failures", true],
    ["there were [1-9]\\d* failures", "there were 0 failures", false],
    ["c:\\\\", "path c:\\ here", true],
    ["c:\\\\", "path c: here", false],
    ['a\\-b\\:c\\ d\\#\\"', 'a-b:c d#"', true],
    ["[\\-\\]]+x", "-]x", true],
    ["\\Q1+1=[2]\\E!", "so 1+1=[2]!", true],
    ["\\Q.*", "a.*", true],
    ["\\Q.*", "ab", false],
    ["\\x{41}\\x{1F600}", "A\u{1F600}", true],
    ["(?i)error", "An ERROR", true],
    ["(?is)a.b", "A\nB", true],
    ["(?m)^x$", "x", true],
    ["(a)\\1", "xaax", true],
    ["(?<w>b)\\k<w>", "abba", true],
    ["^start", "not start", false],
    ["^\\p{Alpha}+$", "abcXYZ", true],
    ["^\\p{Alpha}+$", "é", false], // ASCII only, as in Java
    ["^[\\p{Digit}_]+$", "1_2", true],
    ["^\\P{Digit}$", "a", true],
    ["^\\P{Digit}$", "1", false],
    ["\\p{Punct}\\p{Space}\\p{XDigit}", "! f", true],
    ["\\p{L}", "é", true], // a Unicode property stays one
    ["end$", "the end", true],
  ];
  for (const [pattern, line, expected] of cases) {
    const set = new PatternSet([{ event: "e", pattern }]);
    assert.deepEqual(
      set.match(line),
      expected ? ["e"] : [],
      `${pattern} on ${line}`,
    );
  }
  assert.deepEqual(translateJavaPattern("(?iu)a\\."), {
    source: "a\\u{2e}",
    flags: "ui",
  });
});

Deno.test("pattern set: every matching pattern fires, in file order", () => {
  const set = new PatternSet([
    { event: "second", pattern: "b" },
    { event: "backref", pattern: "(.)\\1" },
    { event: "first", pattern: "a" },
    { event: "insensitive", pattern: "(?i)A" },
  ]);
  assert.deepEqual(set.match("aab"), [
    "second",
    "backref",
    "first",
    "insensitive",
  ]);
  assert.deepEqual(set.match("xyz"), []);
  assert.deepEqual(set.match("zz"), ["backref"]);
  const seen: string[] = [];
  set.scan("a\r\nnone\nbb\nA", (event, line) => seen.push(`${event}:${line}`));
  assert.deepEqual(seen, [
    "first:a",
    "insensitive:a",
    "second:bb",
    "backref:bb",
    "insensitive:A",
  ]);
});

Deno.test("pattern set: the combined pre-filter never changes what matches", () => {
  const patterns = [
    "ab+c",
    "(?i)ERR",
    "^x.*y$",
    "(a|b)\\1", // back-reference: tried on its own
    "(?<d>\\d)\\k<d>", // named group: tried on its own
    "c[^a]*a",
    "(?<=b)a",
    "\\p{Punct}{2}",
    "(?s)a.z",
  ].map((pattern, index) => ({ event: `e${index}`, pattern }));
  const set = new PatternSet(patterns);
  const alone = patterns.map(({ pattern }) => {
    const { source, flags } = translateJavaPattern(pattern);
    return new RegExp(source, flags);
  });
  fc.assert(
    fc.property(
      fc.string({
        unit: fc.constantFrom(..."abcxyzERr19!.- \t"),
        maxLength: 12,
      }),
      (line) => {
        const expected = patterns.filter((_, index) => alone[index]!.test(line))
          .map(({ event }) => event);
        assert.deepEqual(set.match(line), expected);
      },
    ),
    { numRuns: 2_000 },
  );
});
