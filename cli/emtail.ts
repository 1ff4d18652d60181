import {
  followFile,
  type FollowOptions,
  openTriggerQueue,
  parseProperties,
  PatternError,
  PatternSet,
  PropertiesError,
  type QueueEnd,
  readLineChunks,
} from "../client/mod.ts";
import {
  checkName,
  CLIENT_OPTIONS,
  err,
  EXIT,
  out,
  parseServer,
  parseTool,
  type ToolSpec,
  usageError,
} from "./_tool.ts";

/** emtail's command line. */
export const spec: ToolSpec = {
  name: "emtail",
  usage: "[OPTIONS] hostname port log_file cfg_file [quit_event]",
  help:
    `Follows log_file and, for each line, triggers on the em server at hostname:port the
event of every pattern that matches somewhere in the line, in cfg_file order.

cfg_file is a Java properties file: event_name=regular expression (see docs/EMTAIL.md
for where JavaScript regular expressions differ from Java's). The existing content of
log_file is read first, then the file is followed as it grows, across truncation and
rotation; a partial last line waits until it is completed. log_file "-" reads standard
input and exits at its end. With quit_event, emtail exits once that event is triggered.

Options:
  --from-end           skip what log_file holds now
  --poll-ms N          milliseconds between looks at a quiet file (default 200)
  --no-retry           exit 1 when the server is unreachable or lost, instead of retrying
  --retry-max-ms N     longest pause between reconnection attempts (default 2000)
  --max-queued N       triggers held while the server is away; more are dropped with a
                       warning (default 10000)
  --echo               print each event on stdout once the server has confirmed it
  -h, --help, --version

Exit 0: quit_event triggered, or the end of standard input. Exit 1: log_file or
cfg_file unreadable, server lost with --no-retry. Exit 64: bad arguments, or a cfg_file
entry that cannot be used (its line is named: "cfg_file:LINE: reason").`,
  options: {
    ...CLIENT_OPTIONS,
    "from-end": { type: "boolean" },
    "poll-ms": { type: "string" },
    "no-retry": { type: "boolean" },
    "retry-max-ms": { type: "string" },
    "max-queued": { type: "string" },
    echo: { type: "boolean" },
  },
  minPositionals: 4,
  maxPositionals: 5,
};

type Values = Record<string, unknown>;

/** Runs emtail until quit_event, the end of standard input or a failure; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const [logFile, cfgFile, quitEvent] = parsed.positionals.slice(2) as [
    string,
    string,
    string | undefined,
  ];
  const badQuit = quitEvent === undefined
    ? undefined
    : checkName(spec, quitEvent, "quit_event");
  if (badQuit !== undefined) return badQuit;
  const numbers = readNumbers(parsed.values);
  if (typeof numbers === "string") return usageError(spec, numbers);
  const patterns = await loadPatterns(cfgFile);
  if (typeof patterns === "number") return patterns;

  const abort = new AbortController();
  const options: FollowOptions = {
    fromEnd: parsed.values["from-end"] === true,
    pollMs: numbers.pollMs,
    signal: abort.signal,
  };
  const source = await openSource(logFile, options);
  if (typeof source === "number") return source;
  await using queue = openTriggerQueue({
    ...server,
    appName: "emtail",
    ...(quitEvent === undefined ? {} : { quitEvent }),
    retry: parsed.values["no-retry"] !== true,
    retryMaxMs: numbers.retryMaxMs,
    maxQueued: numbers.maxQueued,
    onNotice: (line) => err(`emtail: ${line}`),
    ...(parsed.values.echo === true ? { onSent: out } : {}),
  });
  const ended = queue.ended.then((end) => (abort.abort(), end));
  try {
    for await (const chunk of source) {
      patterns.scan(chunk, (event) => queue.push(event));
      await queue.room();
    }
  } catch (error) {
    err(`emtail: Cannot read "${logFile}": ${(error as Error).message}`);
    return EXIT.FAILURE;
  }
  // Standard input ended (send what is queued first), or the queue did.
  return exitCode(
    await Promise.race([ended, queue.drain().then(() => "closed" as const)]),
  );
}

/** The log's chunks of lines; on failure prints why and returns the exit code. */
async function openSource(
  logFile: string,
  options: FollowOptions,
): Promise<AsyncIterable<string> | number> {
  try {
    return logFile === "-"
      ? readLineChunks(Deno.stdin.readable, options)
      : await followFile(logFile, options);
  } catch (error) {
    err(`emtail: Cannot open "${logFile}": ${(error as Error).message}`);
    return EXIT.FAILURE;
  }
}

function exitCode(end: QueueEnd): number {
  if (typeof end === "string") return EXIT.OK;
  err(`emtail: ${end.message}`);
  return EXIT.FAILURE;
}

function readNumbers(values: Values) {
  const read = (name: string, fallback: number, min: number) => {
    const text = values[name];
    if (text === undefined) return fallback;
    const number = Number(text);
    return /^\d{1,9}$/.test(String(text)) && number >= min ? number : NaN;
  };
  const numbers = {
    pollMs: read("poll-ms", 200, 1),
    retryMaxMs: read("retry-max-ms", 2_000, 1),
    maxQueued: read("max-queued", 10_000, 1),
  };
  for (const [name, value] of Object.entries(numbers)) {
    if (Number.isNaN(value)) {
      const flag = name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
      return `invalid --${flag} "${values[flag]}": use a positive integer`;
    }
  }
  return numbers;
}

/** Reads cfg_file into patterns; on failure prints why and returns the exit code. */
async function loadPatterns(cfgFile: string): Promise<PatternSet | number> {
  let text;
  try {
    text = await Deno.readTextFile(cfgFile);
  } catch (error) {
    err(`emtail: Cannot read "${cfgFile}": ${(error as Error).message}`);
    return EXIT.FAILURE;
  }
  try {
    const patterns = new PatternSet(
      parseProperties(text).map((entry) => ({
        event: entry.key,
        pattern: entry.value,
        line: entry.line,
      })),
    );
    if (patterns.size > 0) return patterns;
    err(`emtail: ${cfgFile}: no patterns`);
    return EXIT.USAGE;
  } catch (error) {
    if (error instanceof PropertiesError || error instanceof PatternError) {
      err(`emtail: ${cfgFile}:${error.line}: ${error.message}`);
      return EXIT.USAGE;
    }
    throw error;
  }
}
