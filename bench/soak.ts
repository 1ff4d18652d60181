// deno-lint-ignore-file no-console
/**
 * `deno task soak --minutes N`: a long run under churn. One emd (its own process, as a user starts
 * it) and `--clients` client slots, each living one short life after another: connect, hello, then
 * receive (subscribe, collect, flush), wait (plain triggers), send acknowledged triggers, or take and
 * release locks; then disconnect, abruptly half of the time (a third of those mid-message), and
 * reconnect. Checked as it goes (bench/_soak_roles.ts): every acknowledged trigger reached every
 * receiver subscribed before it was sent and still there after its acknowledgement, no lock was held
 * twice. Sampled every `--sample-seconds`: emd's RSS and open descriptors; the report gives their
 * slopes over the run after its first fifth, and whether emd's descriptors came back to where they
 * were before the first client once the last one left. Writes bench/results/soak-<time>.md and .json
 * (`--out DIR` elsewhere). Exit 0 when clean and flat, 1 otherwise, 64 on bad arguments.
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pause, withDeadline } from "./_deadline.ts";
import { startEmd } from "./_emd.ts";
import { rssKb } from "./_proc.ts";
import { churn, Ledger } from "./_soak_roles.ts";
import { type Sample, slopePerMinute, soakReport } from "./_soak_report.ts";

const USAGE =
  `Usage: deno task soak [--minutes N] [--clients N] [--rate N] [--out DIR]

Options:
  --minutes N          how long the clients churn (default 1)
  --clients N          client slots, each connecting again after every life (default 1000)
  --rate N             acknowledged triggers per second to aim for, all senders together
                       (default 20; more when senders are too few to keep it)
  --sample-seconds N   how often emd's RSS and descriptors are read (default 10)
  --out DIR            where the report goes (default bench/results)
  -h, --help`;

function options() {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "1" },
      clients: { type: "string", default: "1000" },
      rate: { type: "string", default: "20" },
      "sample-seconds": { type: "string", default: "10" },
      out: {
        type: "string",
        default: fileURLToPath(new URL("./results", import.meta.url)),
      },
      help: { type: "boolean", short: "h" },
    },
  });
  const number = (name: keyof typeof values) => {
    const value = Number(values[name]);
    if (!(value > 0)) {
      throw new RangeError(`Invalid --${name} "${values[name]}"`);
    }
    return value;
  };
  return {
    help: values.help === true,
    minutes: number("minutes"),
    clients: Math.round(number("clients")),
    rate: number("rate"),
    sampleMs: number("sample-seconds") * 1000,
    out: values.out!,
  };
}

function fdCount(pid: number): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = options();
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  await using emd = await startEmd();
  await pause(500); // let emd finish starting before its baseline is read
  const baseFds = fdCount(emd.pid);
  const baseRssKb = rssKb(emd.pid) ?? 0;
  const started = performance.now(), startedAt = new Date();
  const until = started + opts.minutes * 60_000;
  const ledger = new Ledger(opts.rate);
  const open = { count: 0 };
  console.log(
    `soak: ${opts.clients} clients for ${opts.minutes} min against emd (pid ${emd.pid}, port ${emd.port}); ` +
      `baseline RSS ${baseRssKb} KB, ${baseFds} descriptors`,
  );
  const slots = Array.from(
    { length: opts.clients },
    () => churn(emd.port, ledger, until, open),
  );
  const samples: Sample[] = [];
  while (performance.now() < until) {
    await pause(Math.min(opts.sampleMs, until - performance.now()));
    const sample: Sample = {
      minute: (performance.now() - started) / 60_000,
      rssKb: rssKb(emd.pid) ?? 0,
      fds: fdCount(emd.pid),
      clients: open.count,
    };
    samples.push(sample);
    const c = ledger.counts;
    console.log(
      `${
        sample.minute.toFixed(1)
      } min: RSS ${sample.rssKb} KB, ${sample.fds} fds, ${sample.clients} open; ` +
        `lives ${
          Object.values(c.lives).reduce((a, b) => a + b)
        }, triggers ${c.triggersAcked}, ` +
        `deliveries checked ${c.deliveriesChecked}, locks ${c.locksGranted}, violations ${c.violations}`,
    );
  }
  await withDeadline(Promise.all(slots), 180_000, "the last lives to end");
  const endFds = await settledFds(emd.pid, baseFds);
  const endRssKb = rssKb(emd.pid) ?? 0;
  const from = opts.minutes / 5;
  const measured = samples.filter((s) => s.minute >= from);
  const report = soakReport({
    opts,
    startedAt,
    commit: await gitCommit(),
    baseFds,
    endFds,
    baseRssKb,
    endRssKb,
    samples,
    rssSlopeKbPerMin: slopePerMinute(measured, (s) => s.rssKb),
    fdSlopePerMin: slopePerMinute(measured, (s) => s.fds - s.clients),
    ledger,
    emdLog: emd.log(),
  });
  await Deno.mkdir(opts.out, { recursive: true });
  const stamp = startedAt.toISOString().slice(0, 16).replace(":", "-");
  const path = `${opts.out}/soak-${stamp}`;
  await Deno.writeTextFile(`${path}.md`, report.markdown);
  await Deno.writeTextFile(
    `${path}.json`,
    JSON.stringify(report.json, null, 1),
  );
  console.log(report.markdown);
  console.log(`report: ${path}.md`);
  return report.clean ? 0 : 1;
}

/** emd's descriptors once every client has gone: polled (bounded) until back at the baseline. */
async function settledFds(pid: number, baseFds: number): Promise<number> {
  const deadline = performance.now() + 15_000;
  let fds = fdCount(pid);
  while (fds > baseFds && performance.now() < deadline) {
    await pause(100);
    fds = fdCount(pid);
  }
  return fds;
}

async function gitCommit(): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "unknown";
  }
}

Deno.exit(await main());
