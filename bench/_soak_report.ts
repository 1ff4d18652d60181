/** The soak's report: slopes, verdicts, the Markdown page and its JSON twin. @module */
import type { Ledger } from "./_soak_roles.ts";
import { EMD_DENO_FLAGS } from "./_emd.ts";

/** One reading of emd while the soak runs. */
export interface Sample {
  readonly minute: number;
  readonly rssKb: number;
  readonly fds: number;
  /** Connections the soak had open at that moment. */
  readonly clients: number;
}

/**
 * RSS may grow over the measured part of the run by at most this share of its mean (V8's heap
 * settles in steps; a leak of even 100 bytes per life grows it without end).
 */
const MAX_RSS_GROWTH = 0.05;

/** Least-squares slope of `value` per minute over the samples; 0 for fewer than two. */
export function slopePerMinute(
  samples: readonly Sample[],
  value: (sample: Sample) => number,
): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanX = samples.reduce((a, s) => a + s.minute, 0) / n;
  const meanY = samples.reduce((a, s) => a + value(s), 0) / n;
  let num = 0, den = 0;
  for (const s of samples) {
    num += (s.minute - meanX) * (value(s) - meanY);
    den += (s.minute - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** What the report is made from. */
export interface SoakFigures {
  opts: { minutes: number; clients: number; rate: number; sampleMs: number };
  startedAt: Date;
  commit: string;
  baseFds: number;
  endFds: number;
  baseRssKb: number;
  endRssKb: number;
  samples: readonly Sample[];
  rssSlopeKbPerMin: number;
  fdSlopePerMin: number;
  ledger: Ledger;
  emdLog: string;
}

/** Builds the report; `clean` is false on any violation, a leaked descriptor or growing RSS. */
export function soakReport(f: SoakFigures) {
  const measured = f.samples.filter((s) => s.minute >= f.opts.minutes / 5);
  const meanRss = measured.reduce((a, s) => a + s.rssKb, 0) /
    Math.max(1, measured.length);
  const span = measured.length > 1
    ? measured[measured.length - 1]!.minute - measured[0]!.minute
    : 0;
  const rssGrowthKb = f.rssSlopeKbPerMin * span;
  const rssFlat = rssGrowthKb <= MAX_RSS_GROWTH * meanRss;
  const fdsBack = f.endFds <= f.baseFds;
  const c = f.ledger.counts;
  const clean = c.violations === 0 && rssFlat && fdsBack;
  const lives = Object.values(c.lives).reduce((a, b) => a + b);
  const peak = Math.max(...f.samples.map((s) => s.clients), 0);
  const logged = f.emdLog.split("\n").filter((l) => l.trim() !== "");
  const midMessage = logged.filter((l) => l.includes("closed mid-message"));
  const warnings = logged.filter((l) => !l.includes("closed mid-message"));
  const markdown = `# Soak run ${f.startedAt.toISOString()}

\`deno task soak --minutes ${f.opts.minutes} --clients ${f.opts.clients} --rate ${f.opts.rate}\`
(commit ${f.commit}): one emd (\`deno run ${
    EMD_DENO_FLAGS.join(" ")
  } cli/main.ts emd -q\`, as \`deno task start\` runs it), ${f.opts.clients} client slots
churning for ${f.opts.minutes} min, up to ${peak} connections open at a sample.
Verdict: **${clean ? "clean and flat" : "FAILED"}**.

| figure | value |
| --- | --- |
| lives (receiver / waiter / sender / locker) | ${lives} (${c.lives.receiver} / ${c.lives.waiter} / ${c.lives.sender} / ${c.lives.locker}) |
| ended abruptly | ${c.abrupt} |
| acknowledged triggers | ${c.triggersAcked} (${
    (c.triggersAcked / f.opts.minutes / 60).toFixed(1)
  } per second) |
| deliveries checked (receiver × acknowledged trigger in its window) | ${c.deliveriesChecked} |
| waits checked (plain triggers counted) | ${c.waitsChecked} |
| locks granted | ${c.locksGranted} |
| connect failures | ${c.connectFailures} |
| violations (missed deliveries, double holds, no answer, closed by emd) | ${c.violations} |
| emd RSS at start / mean after the first fifth / at the end (KB) | ${f.baseRssKb} / ${
    Math.round(meanRss)
  } / ${f.endRssKb} |
| emd RSS slope after the first fifth | ${
    f.rssSlopeKbPerMin.toFixed(1)
  } KB/min (${Math.round(rssGrowthKb)} KB over ${
    span.toFixed(1)
  } min; flat means ≤ ${MAX_RSS_GROWTH * 100} % of the mean: ${
    rssFlat ? "flat" : "GROWING"
  }) |
| emd descriptors minus open clients, slope | ${
    f.fdSlopePerMin.toFixed(3)
  } per min |
| emd descriptors before the first client / after the last left | ${f.baseFds} / ${f.endFds} (${
    fdsBack ? "back" : "LEAKED"
  }) |
| emd warnings: peers that closed mid-message (expected) / others | ${midMessage.length} / ${warnings.length} |

${
    f.ledger.violations.length === 0
      ? "No violations."
      : "Violations (first 50):\n\n" +
        f.ledger.violations.map((v) => `- ${v}`).join("\n")
  }

Samples (minute, RSS KB, descriptors, open clients):

\`\`\`
${
    f.samples.map((s) =>
      `${s.minute.toFixed(2)} ${s.rssKb} ${s.fds} ${s.clients}`
    ).join("\n")
  }
\`\`\`
${
    warnings.length === 0
      ? ""
      : `\nemd's other warnings (first 20 lines):\n\n\`\`\`\n${
        warnings.slice(0, 20).join("\n")
      }\n\`\`\`\n`
  }`;
  const json = {
    startedAt: f.startedAt.toISOString(),
    commit: f.commit,
    options: f.opts,
    counts: c,
    violations: f.ledger.violations,
    baseFds: f.baseFds,
    endFds: f.endFds,
    baseRssKb: f.baseRssKb,
    endRssKb: f.endRssKb,
    rssSlopeKbPerMin: f.rssSlopeKbPerMin,
    fdSlopePerMin: f.fdSlopePerMin,
    rssFlat,
    fdsBack,
    clean,
    samples: f.samples,
  };
  return { markdown, json, clean };
}
