// The suite's short run of `deno task fuzz` (the seed is printed; EM_FUZZ_SEED replays it), every
// saved regression case replayed, and the minimiser shown to reduce a failing case to its cause.
import assert from "node:assert/strict";
import { codec, type StreamCase, sync, type Target } from "./_targets.ts";
import { startServerTarget } from "./_server_target.ts";
import { minimise, type Regression, runCases } from "./_run.ts";

const SEED = Number(Deno.env.get("EM_FUZZ_SEED") ?? Date.now() % 2 ** 31);
const REGRESSIONS = new URL("./regressions/", import.meta.url);

Deno.test("fuzz: a short run of the codec and the sync state machine passes", async () => {
  // deno-lint-ignore no-console
  console.log(
    `fuzz seed ${SEED} (EM_FUZZ_SEED; deno task fuzz --seed ${SEED})`,
  );
  assert.equal(await runCases(codec, SEED, 5_000), undefined);
  assert.equal(await runCases(sync, SEED, 100), undefined);
});

Deno.test("fuzz: a short run against the server over TCP passes", async () => {
  await using server = await startServerTarget();
  assert.equal(await runCases(server, SEED, 500, server), undefined);
});

Deno.test("fuzz: every saved regression case passes", async () => {
  for await (const entry of Deno.readDir(REGRESSIONS)) {
    if (!entry.name.endsWith(".json")) continue;
    const regression: Regression = JSON.parse(
      await Deno.readTextFile(new URL(entry.name, REGRESSIONS)),
    );
    if (regression.target === "server") {
      await using server = await startServerTarget();
      assert.equal(
        await server.check(regression.case as StreamCase),
        undefined,
        entry.name,
      );
    } else {
      const target = (regression.target === "codec" ? codec : sync) as Target<
        unknown
      >;
      assert.equal(await target.check(regression.case), undefined, entry.name);
    }
  }
});

Deno.test("fuzz: a failing case is minimised to what makes it fail", async () => {
  const needle = [0x51, 0x00]; // "fails" whenever the stream holds these two bytes in a row
  const broken: Target<StreamCase> = {
    ...codec,
    check: (c) =>
      c.bytes.some((b, i) => b === needle[0] && c.bytes[i + 1] === needle[1])
        ? "found the needle"
        : undefined,
  };
  const bytes = [
    ...new TextEncoder().encode("H1.2\nF1\nTabc\n"),
    ...needle,
    1,
    2,
    3,
  ];
  const regression = await minimise(broken, 7, {
    index: 3,
    message: "found the needle",
    case: { bytes, cuts: [2, 9] },
  });
  assert.deepEqual(regression.case, { bytes: needle, cuts: [] });
  assert.equal(regression.failure, "found the needle");
});
