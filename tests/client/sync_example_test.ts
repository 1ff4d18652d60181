import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const EXAMPLE = fileURLToPath(
  new URL("../../examples/sync.ts", import.meta.url),
);

Deno.test("examples/sync.ts: latch, semaphore, barrier and condition variable as it prints", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", EXAMPLE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  assert.equal(
    decoder.decode(stdout),
    [
      "late waiter sees: build_done",
      "most workers inside at once: 2",
      "all four passed the barrier",
      "consumer took: deploy",
      "",
    ].join("\n"),
  );
});
