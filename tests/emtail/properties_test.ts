import assert from "node:assert/strict";
import { parseProperties, PropertiesError } from "../../client/properties.ts";

function pairs(text: string): [string, string][] {
  return parseProperties(text).map((entry) => [entry.key, entry.value]);
}

Deno.test("properties: a malformed \\u escape fails with its line number", () => {
  for (const bad of ["a=\\u12", "a=\\u12G4", "a=\\u"]) {
    assert.throws(
      () => parseProperties(`# c\n\nok=1\n${bad}\n`),
      (error) =>
        error instanceof PropertiesError && error.line === 4 &&
        error.message.startsWith("Malformed \\uxxxx encoding"),
    );
  }
});

Deno.test("properties: the issue's two examples", () => {
  assert.deepEqual(pairs("failed=there were [1-9]\\\\d* failures\n"), [[
    "failed",
    "there were [1-9]\\d* failures",
  ]]);
  assert.deepEqual(pairs("winfile=c:\\\\\\\\\n"), [["winfile", "c:\\\\"]]);
});

const TABLE: [string, string, [string, string][]][] = [
  ["hash comment", "# a=b\nx=1", [["x", "1"]]],
  ["bang comment", "! a=b\nx=1", [["x", "1"]]],
  ["indented comment", "   # a=b\n\t! c=d\nx=1", [["x", "1"]]],
  ["comment ending in backslash is not continued", "# a\\\nx=1", [["x", "1"]]],
  ["blank lines", "\n  \n\t\nx=1\n\n", [["x", "1"]]],
  ["equals", "a=b", [["a", "b"]]],
  ["colon", "a:b", [["a", "b"]]],
  ["whitespace", "a b", [["a", "b"]]],
  ["tab separator", "a\tb", [["a", "b"]]],
  ["whitespace around equals", "a  =  b", [["a", "b"]]],
  ["whitespace around colon", "a \t: b", [["a", "b"]]],
  ["only the first separator", "a = = b", [["a", "= b"]]],
  ["colon inside the value", "a=b:c=d", [["a", "b:c=d"]]],
  ["leading whitespace", "   \t a = b", [["a", "b"]]],
  ["trailing whitespace kept", "a = b  ", [["a", "b  "]]],
  ["key without value", "a", [["a", ""]]],
  ["key with separator and no value", "a=", [["a", ""]]],
  ["empty key", "=b", [["", "b"]]],
  ["escaped backslash", "a=x\\\\y", [["a", "x\\y"]]],
  ["tab and newline escapes", "a=1\\t2\\n3\\r4\\f5", [["a", "1\t2\n3\r4\f5"]]],
  ["unicode escape", "a=\\u0041\\u00e9\\u20AC", [["a", "Aé€"]]],
  ["other escapes mean the character", "a=\\d\\.\\q\\#", [["a", "d.q#"]]],
  ["escaped separator in the key", "a\\=b\\:c\\ d=e", [["a=b:c d", "e"]]],
  ["escaped leading space in the value", "a=\\  b", [["a", "  b"]]],
  ["continuation", "a=one\\\ntwo", [["a", "onetwo"]]],
  [
    "continuation drops the next line's leading whitespace",
    "a=one \\\n     two\\\n\t three",
    [["a", "one twothree"]],
  ],
  ["continuation line may start with #", "a=x\\\n  #y", [["a", "x#y"]]],
  ["even backslashes do not continue", "a=x\\\\\nb=y", [["a", "x\\"], [
    "b",
    "y",
  ]]],
  ["three backslashes continue", "a=x\\\\\\\ny", [["a", "x\\y"]]],
  ["continuation into a blank line ends it", "a=x\\\n\nb=y", [["a", "x"], [
    "b",
    "y",
  ]]],
  ["continuation at the end of the file", "a=x\\", [["a", "x"]]],
  ["continued key", "ke\\\n  y=v", [["key", "v"]]],
  ["CRLF and CR line ends", "a=1\r\nb=2\rc=3", [["a", "1"], ["b", "2"], [
    "c",
    "3",
  ]]],
  ["byte order mark", "\uFEFFa=1", [["a", "1"]]],
  ["duplicate keys: the last wins", "a=1\nb=2\na=3", [["b", "2"], ["a", "3"]]],
];

Deno.test("properties: Java's rules, one row each", () => {
  for (const [name, text, expected] of TABLE) {
    assert.deepEqual(pairs(text), expected, name);
  }
});

Deno.test("properties: line numbers count comments, blanks and continuations", () => {
  const entries = parseProperties("# c\n\na=1\\\n 2\nb=3\n\r\nc=4\na=5");
  assert.deepEqual(
    entries.map((entry) => [entry.key, entry.line]),
    [["b", 5], ["c", 7], ["a", 8]],
  );
});
