// The one entry point of npm:@logtape/logtape into server/: library code only asks for loggers.
import { getLogger, type Logger } from "npm:@logtape/logtape@^2.4.2";

export type { Logger };

/** The logger of one server part, e.g. `serverLogger("connection")` → category em.server.connection. */
export function serverLogger(part?: string): Logger {
  return getLogger(
    part === undefined ? ["em", "server"] : ["em", "server", part],
  );
}
