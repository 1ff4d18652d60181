import {
  configure,
  getJsonLinesFormatter,
  type LogRecord,
  reset,
} from "./_log.ts";

/** How much em logs: everything from `info`, only problems (`warning`), or nothing. */
export type LogLevel = "debug" | "info" | "warning" | "error" | null;

/**
 * How a log line looks: `text` (`emd WARNING Closed …`) or `json` (one JSON object per line, by
 * LogTape's JSON Lines formatter, the record's properties at the top level).
 */
export type LogFormat = "text" | "json";

/** Options of {@link configureLogging}. */
export interface LoggingOptions {
  /**
   * Lowest level written; `null` writes nothing.
   * @default {"info"}
   */
  readonly level?: LogLevel;
  /**
   * Prefix of each line, e.g. the tool's name.
   * @default {"em"}
   */
  readonly prefix?: string;
  /**
   * How each line looks.
   * @default {"text"}
   */
  readonly format?: LogFormat;
  /**
   * Where lines go.
   * @default {writes to standard error}
   */
  readonly write?: (line: string) => void;
}

const encoder = new TextEncoder();

/**
 * Sends em's log records (category `em`) to standard error as one line each:
 * `emd WARNING Closed 127.0.0.1:5000: Protocol error: …`. Call once, from a program, not a library.
 * @param options level, prefix, destination
 */
export async function configureLogging(
  options: LoggingOptions = {},
): Promise<void> {
  const { level = "info", prefix = "em", format = "text" } = options;
  const write = options.write ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  await reset();
  if (level === null) return;
  const json = getJsonLinesFormatter({ properties: "flatten" });
  const line = format === "json"
    ? (record: LogRecord) => json(record).trimEnd() // the sink adds the line end
    : (record: LogRecord) => formatRecord(prefix, record);
  await configure({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => write(line(record)),
    },
    loggers: [
      { category: ["em"], lowestLevel: level, sinks: ["stderr"] },
      {
        category: ["logtape", "meta"],
        lowestLevel: "error",
        sinks: ["stderr"],
      },
    ],
  });
}

/** One log line: prefix, level, interpolated message. */
export function formatRecord(prefix: string, record: LogRecord): string {
  const text = record.message
    .map((part, i) =>
      i % 2 === 0 || typeof part === "string"
        ? String(part)
        : JSON.stringify(part)
    )
    .join("");
  return `${prefix} ${record.level.toUpperCase()} ${text}`;
}
