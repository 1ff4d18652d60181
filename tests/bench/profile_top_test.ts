// bench/profile_top.ts: self and total time per function from a V8 CPU profile.
import assert from "node:assert/strict";
import { type CpuProfile, topFunctions } from "../../bench/profile_top.ts";

const frame = (functionName: string, lineNumber: number) => ({
  functionName,
  url: "file:///repo/server/session.ts",
  lineNumber,
});

Deno.test("profile_top: an empty profile has no rows", () => {
  assert.deepEqual(topFunctions({ nodes: [], samples: [] }, 5), []);
});

Deno.test("profile_top: self time per function, total counts callers once per sample", () => {
  // root → onChunk → push; onChunk → flush; push → onChunk (recursion)
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("", -1), children: [2] },
      { id: 2, callFrame: frame("onChunk", 9), children: [3, 4] },
      { id: 3, callFrame: frame("push", 39), children: [5] },
      { id: 4, callFrame: frame("flush", 99) },
      { id: 5, callFrame: frame("onChunk", 9) },
    ],
    samples: [3, 3, 4, 5],
  };
  assert.deepEqual(topFunctions(profile, 2), [
    { function: "push server/session.ts:40", "self %": 50, "total %": 75 },
    { function: "flush server/session.ts:100", "self %": 25, "total %": 25 },
  ]);
  assert.equal(
    topFunctions(profile, 5).find((r) =>
      String(r.function).startsWith("onChunk")
    )?.["total %"],
    100,
  );
});
