// cli/_args.ts: the tools' strict option parser (a subset of node:util parseArgs, without Node).
import assert from "node:assert/strict";
import { ArgsError, type OptionSpecs, parseArgs } from "../../cli/_args.ts";

const SPECS: OptionSpecs = {
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  wait: { type: "string", short: "W" },
  host: { type: "string", default: "127.0.0.1" },
  agent: { type: "string", multiple: true },
};

Deno.test("args: an unknown option, a missing value or a value for a flag is an error naming it", () => {
  const cases: [string[], string][] = [
    [["--bogus"], 'unknown option "--bogus"'],
    [["--bogus=1"], 'unknown option "--bogus"'],
    [["-x"], 'unknown option "-x"'],
    [["-qx"], 'unknown option "-x"'],
    [["--wait"], 'option "--wait" needs a value'],
    [["--wait", "--quiet"], 'option "--wait" needs a value'],
    [["-W"], 'option "-W" needs a value'],
    [["--quiet=yes"], 'option "--quiet" takes no value'],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseArgs(args, SPECS),
      (error) => error instanceof ArgsError && error.message === message,
      args.join(" "),
    );
  }
});

Deno.test("args: long, short, grouped, repeated and default options, and positionals", () => {
  assert.deepEqual(
    parseArgs(
      ["a", "--wait=5", "-qv", "--agent", "x", "-", "--agent=y", "b"],
      SPECS,
    ),
    {
      values: {
        wait: "5",
        quiet: true,
        verbose: true,
        agent: ["x", "y"],
        host: "127.0.0.1",
      },
      positionals: ["a", "-", "b"],
    },
  );
  assert.deepEqual(parseArgs(["-W10", "--host", "h"], SPECS).values, {
    wait: "10",
    host: "h",
  });
  assert.deepEqual(parseArgs(["-W", "10", "p"], SPECS).positionals, ["p"]);
  assert.deepEqual(parseArgs(["-q", "--", "--wait", "-x"], SPECS), {
    values: { quiet: true, host: "127.0.0.1" },
    positionals: ["--wait", "-x"],
  });
});
