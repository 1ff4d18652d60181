// emlock through real processes: first come, first served; kill -9 of the holder hands the lock
// over; a lost connection stops the command; the command's status; leases, their TTL, release and
// renew. Readiness comes from --ready-file (the server has queued the request), never a sleep.
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../../mod.ts";
import { runTool, spawnTool, startEmd } from "../_helpers/cli.ts";
import {
  acquireLease,
  holdingEmlock,
  NOOP,
  OK,
  POSIX,
  releaseFrees,
  tempDir,
  TIMEOUT,
  untilFile,
  within,
} from "../_helpers/sync_cli.ts";

Deno.test({
  name:
    "emlock: waiters get the lock in arrival order; kill -9 of the holder hands it to the first",
  ignore: !POSIX,
  async fn() {
    await using server = await startServer({ port: 0, name: "t" });
    await using dir = await tempDir();
    const at = ["127.0.0.1", String(server.addr.port)];
    const ready = (who: string) => join(dir.path, `ready_${who}`);
    const order = join(dir.path, "order");
    // the holder's command lives until the test ends its input, even after emlock is killed
    await using holder = await holdingEmlock(at, "job", ready("A"));
    const waiters = [];
    for (const who of ["B", "C", "D"]) {
      const append = `echo ${who} >> '${order}'`;
      waiters.push(spawnTool(
        [
          "emlock",
          "--ready-file",
          ready(who),
          ...at,
          "job",
          "--",
          "sh",
          "-c",
          append,
        ],
      ));
      await untilFile(ready(who)); // queued by the server before the next one asks
    }
    try {
      assert.deepEqual(waiters.map((w) => w.exited), [false, false, false]);
      holder.child.kill("SIGKILL");
      await holder.endInput();
      const results = await within(
        Promise.all(waiters.map((w) => w.result)),
        10_000,
        "the waiters after the holder was killed",
      );
      assert.deepEqual(results, [OK, OK, OK]);
      assert.equal(await Deno.readTextFile(order), "B\nC\nD\n");
      assert.equal((await holder.result).code, 137); // killed, never released by itself
    } finally {
      for (const waiter of waiters) await waiter[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name:
    "emlock: exits with the command's status, 128+n for a signal; the lock is free after",
  ignore: !POSIX,
  async fn() {
    await using server = await startServer({ port: 0, name: "t" });
    const at = ["127.0.0.1", String(server.addr.port)];
    const run = (...command: string[]) =>
      runTool(["emlock", "--timeout", "10000", ...at, "n", "--", ...command]);
    assert.deepEqual(await run("sh", "-c", "echo out; exit 7"), {
      code: 7,
      stdout: "out\n",
      stderr: "",
    });
    assert.equal((await run("sh", "-c", "kill -TERM $$")).code, 143);
    const missing = await run("em_no_such_command");
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^emlock: Cannot run "em_no_such_command": .+\n$/,
    );
    assert.deepEqual(await run("true"), OK);
  },
});

Deno.test({
  name:
    "emlock: SIGTERM to emlock is passed on to the command, whose status it returns",
  ignore: !POSIX,
  async fn() {
    await using server = await startServer({ port: 0, name: "t" });
    await using dir = await tempDir();
    const started = join(dir.path, "started");
    // the command says it runs (a file), then exits 5 on SIGTERM: 143 would mean emlock died
    const script =
      `trap 'exit 5' TERM; : > '${started}'; while :; do sleep 0.05; done`;
    await using emlock = spawnTool(
      [
        "emlock",
        "127.0.0.1",
        String(server.addr.port),
        "n",
        "--",
        "sh",
        "-c",
        script,
      ],
    );
    await untilFile(started);
    emlock.child.kill("SIGTERM");
    assert.deepEqual(
      await within(emlock.result, 10_000, "emlock after SIGTERM"),
      {
        code: 5,
        stdout: "",
        stderr: "",
      },
    );
  },
});

Deno.test({
  name: "emlock: a lost connection stops the command (SIGTERM) and exits 1",
  ignore: !POSIX,
  async fn() {
    await using emd = await startEmd("t");
    await using dir = await tempDir();
    const ready = join(dir.path, "ready");
    await using holder = await holdingEmlock(
      ["127.0.0.1", String(emd.port)],
      "n",
      ready,
    );
    emd.child.kill("SIGKILL");
    const result = await within(holder.result, 10_000, "emlock after emd died");
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^emlock: Lost "n" \(the command was stopped\): .+\n$/,
    );
  },
});

Deno.test("emlock: a lease outlives emlock; timeout, wrong token, release", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  const token = await acquireLease(at, "deploy");
  assert.deepEqual(
    await runTool([
      "emlock",
      "--timeout",
      "50",
      ...at,
      "deploy",
      "--",
      ...NOOP,
    ]),
    TIMEOUT,
  );
  const wrong = await runTool([
    "emlock",
    "--release",
    ...at,
    "deploy",
    "not" + token,
  ]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^emlock: .+\n$/);
  await releaseFrees(at, "deploy", token);
});

Deno.test("emlock: a lease ends when its TTL passes; renew sets a new TTL; an expired token is refused", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  const token = await acquireLease(at, "n");
  assert.deepEqual(
    await runTool(["emlock", "--renew", "--ttl", "200", ...at, "n", token]),
    OK,
  );
  // waits until the lease expires (about 200 ms), then runs
  assert.deepEqual(
    await runTool(["emlock", "--timeout", "30000", ...at, "n", "--", ...NOOP]),
    OK,
  );
  const late = await runTool(["emlock", "--release", ...at, "n", token]);
  assert.equal(late.code, 1);
  const renew = await runTool([
    "emlock",
    "--renew",
    "--ttl",
    "1000",
    ...at,
    "n",
    token,
  ]);
  assert.equal(renew.code, 1);
});

Deno.test("emlock: arguments that do not fit a mode are usage errors (exit 64)", async () => {
  const cases: [string[], RegExp][] = [
    [["h", "1", "n"], /no command: give one after "--"/],
    [["h", "1", "n", "--"], /no command/],
    [["--ttl", "5", "h", "1", "n", "--", "true"], /--ttl goes with --acquire/],
    [["--acquire", "h", "1", "n"], /--acquire needs --ttl ms/],
    [
      ["--acquire", "--ttl", "5", "h", "1", "n", "--", "true"],
      /--acquire runs no command/,
    ],
    [
      ["--release", "--timeout", "5", "h", "1", "n", "t"],
      /--timeout goes with/,
    ],
    [
      ["--release", "--renew", "h", "1", "n", "t"],
      /--release and --renew do not go together/,
    ],
    [["--release", "h", "1", "n"], /expected 4 arguments, got 3/],
    [["h", "1", "a b", "--", "true"], /invalid name "a b"/],
    [["--timeout", "x", "h", "1", "n", "--", "true"], /invalid --timeout "x"/],
    [["--acquire", "--ttl", "0", "h", "1", "n"], /invalid --ttl "0"/],
  ];
  for (const [args, reason] of cases) {
    const result = await runTool(["emlock", ...args]);
    assert.equal(result.code, 64, args.join(" "));
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      new RegExp(`^emlock: ${reason.source}`),
      args.join(" "),
    );
  }
});
