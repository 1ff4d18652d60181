// deno-lint-ignore-file no-console
/**
 * What one idle receiving connection costs emd, beside Deno's floor (bench/_floor_server.ts: a bare
 * Deno server with one pending read per socket), with and without `--v8-flags=--optimize-for-size`
 * (emd's default since issue 17), each measured on a fresh process in the same run:
 * (VmRSS once N connections said hello and set their flags, after 0.5 s of rest − VmRSS before
 * the first) ÷ N. Redis's figure comes from `deno task bench:compare` (its conns row).
 *
 * ```sh
 * deno run -A bench/conns_floor.ts [N]     # N defaults to 10000
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import { pause, reap, withDeadline } from "./_deadline.ts";
import { raisedLimitCommand, startEmd } from "./_emd.ts";
import { rssKb } from "./_proc.ts";

const N = Number(Deno.args[0] ?? 10_000);
const encoder = new TextEncoder();

interface Subject {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

async function startFloor(flags: string[] = []): Promise<Subject> {
  const { program, args } = raisedLimitCommand(Deno.execPath(), [
    "run",
    ...flags,
    "--allow-net=127.0.0.1",
    fileURLToPath(new URL("./_floor_server.ts", import.meta.url)),
  ]);
  const child = new Deno.Command(program, { args, stdout: "piped" }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await withDeadline(reader.read(), 20_000, "the floor");
  const port = Number(new TextDecoder().decode(value).match(/:(\d+)/)![1]);
  reader.releaseLock();
  return {
    port,
    pid: child.pid,
    stop: async () => {
      await reap(child, 5_000, "SIGTERM");
      await child.stdout.cancel();
    },
  };
}

/** Opens N receivers (hello, flags, the server's hello read); returns KB of RSS per connection. */
async function measure(subject: Subject): Promise<number> {
  await pause(500);
  const before = rssKb(subject.pid)!;
  const conns: Deno.Conn[] = [];
  const buffer = new Uint8Array(256);
  for (let i = 0; i < N; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, N - i) }, async () => {
        const conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: subject.port,
        });
        conns.push(conn);
        await conn.write(encoder.encode("H1.1\nF1\n"));
        await conn.read(buffer);
      }),
    );
  }
  await pause(500);
  const after = rssKb(subject.pid)!;
  for (const conn of conns) conn.close();
  return (after - before) / N;
}

const rows: [string, number][] = [];
for (
  const [label, start] of [
    ["Deno's floor (bare server, one pending read)", () => startFloor()],
    [
      "Deno's floor --v8-flags=--optimize-for-size",
      () => startFloor(["--v8-flags=--optimize-for-size"]),
    ],
    [
      "emd without --optimize-for-size",
      () => startEmd({ defaultFlags: false }),
    ],
    [
      "emd as `deno task start` runs it (--allow-ffi, --optimize-for-size)",
      () => startEmd(),
    ],
  ] as const
) {
  const subject: Subject = await start();
  try {
    rows.push([label, await measure(subject)]);
  } finally {
    await subject.stop();
  }
  console.log(`${label}: ${rows.at(-1)![1].toFixed(2)} KB per connection`);
}
console.log(
  `\n| server (N = ${N}, fresh each) | KB RSS per idle receiving connection |`,
);
console.log("| --- | --- |");
for (const [label, kb] of rows) console.log(`| ${label} | ${kb.toFixed(2)} |`);
