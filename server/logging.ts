import { configure, type LogRecord, reset } from "./_log.ts";

/** How much em logs: everything from `info`, only problems (`warning`), or nothing. */
export type LogLevel = "debug" | "info" | "warning" | "error" | null;

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
  const { level = "info", prefix = "em" } = options;
  const write = options.write ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  await reset();
  if (level === null) return;
  await configure({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => write(formatRecord(prefix, record)),
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
