/**
 * emtail's benchmark: lines per second from a 1,000,000-line generated log through 10 patterns
 * (the real follower and pattern set, no server), and the peak resident memory meanwhile.
 * Run alone with `deno run -A bench/emtail_bench.ts`; writes bench/results/emtail.json.
 * @module
 */
import { followFile, parseProperties, PatternSet } from "../client/mod.ts";

/** What {@link runEmtailBench} measured. */
export interface EmtailBenchResult {
  readonly name: "emtail";
  readonly lines: number;
  readonly patterns: number;
  readonly matches: number;
  readonly logMiB: number;
  readonly seconds: number;
  readonly linesPerSecond: number;
  readonly baselineRssMiB: number;
  readonly peakRssMiB: number;
  /** Peak minus baseline: what following the log added (flat memory means near 0). */
  readonly growthRssMiB: number;
}

const CONFIG = `
failed=there were [1-9]\\\\d* failures
oom=java\\\\.lang\\\\.OutOfMemoryError
refused=(?i)connection refused
disk_full=disk (full|almost full) on /\\\\w+
slow_gc=GC pause \\\\d{4,}ms
login=user [a-z]+ logged in from \\\\d+\\\\.\\\\d+\\\\.\\\\d+\\\\.\\\\d+
timeout=timed out after \\\\d+ ?ms
checksum=checksum mismatch in block \\\\d+
panic=^panic: 
deploy=deployed version \\\\d+\\\\.\\\\d+\\\\.\\\\d+
`;

const RARE = [
  "there were 3 failures in suite core",
  "java.lang.OutOfMemoryError: Java heap space",
  "Connection Refused by 10.0.0.7:5432",
  "disk almost full on /var",
  "GC pause 1234ms",
  "user alice logged in from 10.1.2.3",
  "request timed out after 5000 ms",
  "checksum mismatch in block 42",
  "deployed version 1.2.3",
];

const MiB = 1024 * 1024;

/** Writes a log of `lines` lines (1 in 100 matching a pattern), streamed in blocks. */
async function generateLog(path: string, lines: number): Promise<number> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const encoder = new TextEncoder();
  let bytes = 0;
  for (let start = 0; start < lines; start += 10_000) {
    let block = "";
    for (let i = start; i < Math.min(start + 10_000, lines); i++) {
      const time = `2026-11-23T12:${String(i % 60).padStart(2, "0")}:00.${
        String(i % 1000).padStart(3, "0")
      }Z`;
      block += i % 100 === 0
        ? `${time} WARN ${RARE[(i / 100) % RARE.length]}\n`
        : `${time} INFO worker-${i % 16} handled request id=${i} in ${
          i % 97
        } ms status=200\n`;
    }
    const encoded = encoder.encode(block);
    bytes += encoded.length;
    for (let written = 0; written < encoded.length;) {
      written += await file.write(encoded.subarray(written));
    }
  }
  return bytes;
}

/**
 * Generates the log in a temp dir, follows it through 10 patterns until its end, and measures.
 * @param lines how many log lines
 * @returns the figures
 */
export async function runEmtailBench(
  lines = 1_000_000,
): Promise<EmtailBenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "emtail_bench_" });
  try {
    const path = `${dir}/app.log`;
    const bytes = await generateLog(path, lines); // ASCII: characters = bytes
    const patterns = new PatternSet(
      parseProperties(CONFIG).map((entry) => ({
        event: entry.key,
        pattern: entry.value,
      })),
    );
    const baseline = Deno.memoryUsage().rss;
    let peak = baseline;
    let matches = 0;
    let seen = 0;
    const abort = new AbortController();
    const started = performance.now();
    await using follower = await followFile(path, { signal: abort.signal });
    for await (const chunk of follower) {
      patterns.scan(chunk, () => matches++);
      seen += chunk.length;
      peak = Math.max(peak, Deno.memoryUsage().rss);
      if (seen >= bytes) abort.abort();
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      name: "emtail",
      lines,
      patterns: patterns.size,
      matches,
      logMiB: round(bytes / MiB),
      seconds: round(seconds),
      linesPerSecond: Math.round(lines / seconds),
      baselineRssMiB: round(baseline / MiB),
      peakRssMiB: round(peak / MiB),
      growthRssMiB: round((peak - baseline) / MiB),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (import.meta.main) {
  const result = await runEmtailBench();
  const results = new URL("./results/", import.meta.url);
  await Deno.mkdir(results, { recursive: true });
  await Deno.writeTextFile(
    new URL("emtail.json", results),
    JSON.stringify(
      { ...result, deno: Deno.version.deno, date: new Date().toISOString() },
      null,
      2,
    ) + "\n",
  );
  // deno-lint-ignore no-console
  console.log(
    `emtail: ${result.lines} lines (${result.logMiB} MiB) through ${result.patterns} patterns ` +
      `in ${result.seconds} s = ${
        result.linesPerSecond.toLocaleString("en")
      } lines/s, ` +
      `${result.matches} matches; RSS ${result.baselineRssMiB} MiB before, ` +
      `${result.peakRssMiB} MiB peak (+${result.growthRssMiB} MiB)`,
  );
}
