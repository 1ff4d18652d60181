// The one entry point of npm:@logtape/logtape into em: library code only asks for loggers, and
// logging.ts (used by programs, not libraries) configures sinks through the pieces re-exported here.
import {
  configure,
  getJsonLinesFormatter,
  getLogger,
  type Logger,
  type LogRecord,
  reset,
} from "npm:@logtape/logtape@^2.4.2";

export { configure, getJsonLinesFormatter, type Logger, type LogRecord, reset };

/** The logger of one server part, e.g. `serverLogger("connection")` → category em.server.connection. */
export function serverLogger(part?: string): Logger {
  return getLogger(
    part === undefined ? ["em", "server"] : ["em", "server", part],
  );
}
