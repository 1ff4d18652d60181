/** Plain-text tables for the benchmark's output. @module */
import type { Row } from "./workload.ts";

/** A Markdown table of `rows` (columns: the union of their keys, in first-seen order). */
export function markdownTable(rows: readonly Row[]): string {
  const columns: string[] = [];
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!columns.includes(key)) columns.push(key);
    }
  }
  const cell = (value: Row[string] | undefined) =>
    value === null || value === undefined ? "–" : String(value);
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((line) => line[i]!.length))
  );
  const line = (values: string[]) =>
    `| ${
      values.map((value, i) =>
        /^[-\d.]+$/.test(value)
          ? value.padStart(widths[i]!)
          : value.padEnd(widths[i]!)
      ).join(" | ")
    } |`;
  return [
    line(columns),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...cells.map(line),
  ].join("\n");
}
