import { ArgsError, type OptionSpecs, parseArgs } from "./_args.ts";
import denoJson from "../deno.json" with { type: "json" };
import type { ConnectOptions } from "../client/mod.ts";
import {
  EmError,
  isValidName,
  PROTOCOL_VERSIONS,
} from "../protocol/line_codec.ts";
import { placeServer, serversOf } from "./_server_spec.ts";

/** Exit codes, a contract with scripts. */
export const EXIT = Object.freeze({
  OK: 0,
  FAILURE: 1,
  TIMEOUT: 2,
  USAGE: 64,
});

/** What a tool says about itself and how its arguments look. */
export interface ToolSpec {
  readonly name: string;
  /** Usage line after the name, e.g. `hostname port ev_name ms_timeout`. */
  readonly usage: string;
  /** One paragraph for --help: what the tool does, its options and exit codes. */
  readonly help: string;
  readonly options?: OptionSpecs;
  readonly minPositionals: number;
  readonly maxPositionals: number;
}

/** Parsed arguments, or the exit code when --help, --version or a usage error ended the run. */
export type Parsed = {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
} | number;

const NEGATIVE = /^-\d+$/;
const MARK = "\u0000";

/** The version line every tool prints for --version. */
export function versionLine(name: string): string {
  return `${name} ${denoJson.version} (em protocol ${
    PROTOCOL_VERSIONS.join(", ")
  })`;
}

/** Parses a tool's arguments, handling --help, --version and usage errors (exit 64). */
export function parseTool(spec: ToolSpec, args: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs(
      args.map((arg) => NEGATIVE.test(arg) ? MARK + arg : arg), // `-1` is a number here
      {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        ...spec.options,
      },
    );
  } catch (error) {
    if (!(error instanceof ArgsError)) throw error;
    return usageError(spec, error.message);
  }
  if (parsed.values.help) {
    out(`Usage: ${spec.name} ${spec.usage}\n\n${helpText(spec)}`);
    return EXIT.OK;
  }
  if (parsed.values.version) {
    out(versionLine(spec.name));
    return EXIT.OK;
  }
  let positionals = parsed.positionals.map((arg) =>
    arg.startsWith(MARK) ? arg.slice(1) : arg
  );
  if (spec.options?.["connect-timeout"] !== undefined) { // a client tool: short forms
    const form = { min: spec.minPositionals, max: spec.maxPositionals };
    const placed = placeServer(
      positionals,
      form,
      parsed.values.server as string | undefined,
    );
    if (typeof placed === "string") return usageError(spec, placed);
    positionals = placed;
  }
  if (
    positionals.length < spec.minPositionals ||
    positionals.length > spec.maxPositionals
  ) {
    return usageError(
      spec,
      `expected ${describeCount(spec)} arguments, got ${positionals.length}`,
    );
  }
  return { values: parsed.values, positionals };
}

/** Prints the usage and a reason to stderr; returns 64. */
export function usageError(spec: ToolSpec, reason: string): number {
  err(
    `${spec.name}: ${reason}\nUsage: ${spec.name} ${spec.usage}\nTry "${spec.name} --help".`,
  );
  return EXIT.USAGE;
}

/** Reads a TCP port argument: 1 to 65535. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 && port > 0 ? port : undefined;
}

/**
 * Options every client tool takes, spread into its spec's `options`; connection settings that
 * apply to every tool (security, say) are added here once.
 */
export const CLIENT_OPTIONS: OptionSpecs = {
  server: { type: "string", short: "s" },
  "connect-timeout": { type: "string" },
  "secret-file": { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
};

/** The least a tool's own time limit leaves for connecting and the hellos. */
export const MIN_CONNECT_MS = 1000;

/** Milliseconds a client tool gives connecting and the hellos unless --connect-timeout says. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** What --help adds for the CLIENT_OPTIONS, after the tool's own help. */
export const CLIENT_HELP = `Connection options (every client tool):
  -s, --server HOST:PORT  the server, in place of "hostname port" (short form);
                          without it and without hostname port, EM_SERVER is used.
                          The short form has two arguments fewer than EM's
                          (emtrigger ev_name, emwait ev_name ms_timeout)
  --connect-timeout MS    time to connect and exchange hellos, and for the server
                          to confirm a trigger or answer a quit (default ${DEFAULT_CONNECT_TIMEOUT_MS}).
                          A tool's own time limit (emwait's ms_timeout, -W,
                          --timeout) bounds connecting too, leaving it at least
                          ${MIN_CONNECT_MS} ms. No answer in time: exit 1, never 2
  --secret-file PATH      the server's shared secret, read from PATH (a trailing
                          newline is ignored); without it EM_SECRET is used.
                          Never put a secret on the command line
  --tls                   speak TLS, trusting the system's certificate authorities
  --tls-ca PATH           speak TLS, trusting the authority certificate (PEM) in PATH
A secret or TLS that cannot be read: exit 1.`;

/** A tool's --help text after its usage line: its own help, then CLIENT_HELP for client tools. */
export function helpText(spec: ToolSpec): string {
  return spec.options?.["tls-ca"] === undefined
    ? spec.help
    : `${spec.help}\n\n${CLIENT_HELP}`;
}

/** Where (and how) a client tool connects; spread it into `connect()`. */
export type ServerTarget =
  & Pick<ConnectOptions, "hostname" | "secret" | "tls" | "servers">
  & { readonly port: number; readonly connectTimeoutMs: number };

/** The environment variable holding the shared secret (when no --secret-file is given). */
export const SECRET_ENV = "EM_SECRET";

/**
 * The shared secret from `--secret-file PATH` (a trailing newline dropped), else from EM_SECRET
 * (when set, not empty and readable). Prints why and returns exit code 1 when the file cannot be
 * read or is empty.
 */
export function readSecret(
  tool: string,
  values: Record<string, unknown>,
): string | undefined | number {
  const path = values["secret-file"];
  if (typeof path === "string") {
    const secret = readText(tool, path, "secret file")?.replace(/\r?\n$/, "");
    if (secret === undefined) return EXIT.FAILURE;
    if (secret !== "") return secret;
    err(`${tool}: Cannot use secret file "${path}": it is empty`);
    return EXIT.FAILURE;
  }
  return envSecret();
}

/**
 * EM_SECRET when set, not empty and readable, never prompting for it. Deno asks only when stdin
 * is a terminal: there the permission is queried first; elsewhere (scripts, CI) a denied read
 * simply throws, which spares every one-shot start the query's first call (0.3 ms).
 */
function envSecret(): string | undefined {
  if (Deno.stdin.isTerminal()) {
    const permission = Deno.permissions.querySync({
      name: "env",
      variable: SECRET_ENV,
    });
    if (permission.state !== "granted") return undefined;
    return Deno.env.get("EM_SECRET") || undefined;
  }
  try {
    return Deno.env.get("EM_SECRET") || undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined; // not granted
    throw error;
  }
}

/** A file's text, or undefined after printing why it cannot be read. */
export function readText(
  tool: string,
  path: string,
  what: string,
): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    const reason = (error as Error).message.replace(
      /\s*\(os error \d+\).*$/s,
      "",
    );
    err(`${tool}: Cannot read ${what} "${path}": ${reason}`);
    return undefined;
  }
}

/** The client's TLS settings from --tls and --tls-ca; exit code 1 when the CA cannot be read. */
function readClientTls(
  tool: string,
  values: Record<string, unknown>,
): ConnectOptions["tls"] | number {
  const caPath = values["tls-ca"];
  if (typeof caPath === "string") {
    const ca = readText(tool, caPath, "TLS authority certificate");
    return ca === undefined ? EXIT.FAILURE : { caCerts: [ca] };
  }
  return values.tls === true ? true : undefined;
}

/**
 * Reads the `hostname port` that open every client tool's positionals (and the CLIENT_OPTIONS).
 * Returns the target, or the usage exit code after printing why.
 */
export function parseServer(
  spec: ToolSpec,
  parsed: Exclude<Parsed, number>,
): ServerTarget | number {
  const [hostname, portText] = parsed.positionals as [string, string];
  const port = parsePort(portText);
  if (port === undefined) return usageError(spec, `invalid port "${portText}"`);
  const timeoutText = parsed.values["connect-timeout"];
  const connectTimeoutMs = timeoutText === undefined
    ? DEFAULT_CONNECT_TIMEOUT_MS
    : /^\d{1,10}$/.test(String(timeoutText)) && Number(timeoutText) > 0
    ? Number(timeoutText)
    : undefined;
  if (connectTimeoutMs === undefined) {
    return usageError(
      spec,
      `invalid --connect-timeout "${timeoutText}": use milliseconds above 0`,
    );
  }
  const secret = readSecret(spec.name, parsed.values);
  if (typeof secret === "number") return secret;
  const tls = readClientTls(spec.name, parsed.values);
  if (typeof tls === "number") return tls;
  const servers = serversOf(hostname, port);
  if (typeof servers === "string") return usageError(spec, servers);
  return {
    hostname,
    port,
    ...(servers === undefined ? {} : { servers }),
    connectTimeoutMs,
    ...(secret === undefined ? {} : { secret }),
    ...(tls === undefined ? {} : { tls }),
  };
}

/** Checks a 1.1 name (event or server); returns undefined or the usage exit code. */
export function checkName(
  spec: ToolSpec,
  name: string,
  what = "event name",
): number | undefined {
  return isValidName(name)
    ? undefined
    : usageError(spec, `invalid ${what} "${name}": use [A-Za-z0-9_]+`);
}

/**
 * Turns a failure into one stderr line and exit code 1. A timeout of what the tool was asked
 * (exit 2, "timeout" on stdout) is the tool's own business: a server that does not answer, at
 * connect or later, is a failure.
 */
export function reportFailure(name: string, error: unknown): number {
  if (
    error instanceof EmError || error instanceof TypeError ||
    error instanceof RangeError
  ) {
    err(`${name}: ${error.message}`);
    return EXIT.FAILURE;
  }
  throw error;
}

/** A client tool's own time limit, counted from its start. */
export class TimeLimit {
  readonly #limitMs: number;
  readonly #startMs = performance.now();

  /** @param limitMs the limit; negative: none */
  constructor(limitMs: number) {
    this.#limitMs = limitMs;
  }

  /** What is left of the limit (never below 0); negative when there is none. */
  leftMs(): number {
    if (this.#limitMs < 0) return this.#limitMs;
    return Math.max(
      0,
      Math.round(this.#limitMs - (performance.now() - this.#startMs)),
    );
  }

  /**
   * The connect timeout under this limit: the limit, but at least MIN_CONNECT_MS (a limit of 0
   * or 1 still reaches the server and asks what it has), and never more than the server's
   * connect timeout. The limit was set just before connecting: its whole length, so that a
   * message names what was asked.
   */
  connectTimeoutMs(server: ServerTarget): number {
    if (this.#limitMs < 0) return server.connectTimeoutMs;
    const limit = Math.max(this.#limitMs, MIN_CONNECT_MS);
    return Math.min(server.connectTimeoutMs, limit);
  }
}

const encoder = new TextEncoder();

/**
 * Calls `stop` on SIGINT or SIGTERM (SIGINT only on Windows) until disposed: how a tool that runs
 * until stopped ends cleanly (exit 0).
 */
export function onStopSignals(stop: () => void): Disposable {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  return {
    [Symbol.dispose]: () => {
      for (const signal of signals) Deno.removeSignalListener(signal, stop);
    },
  };
}

/** Writes a line to stdout. */
export function out(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

/** Writes a line to stderr. */
export function err(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function describeCount(spec: ToolSpec): string {
  return spec.minPositionals === spec.maxPositionals
    ? String(spec.minPositionals)
    : `${spec.minPositionals} to ${spec.maxPositionals}`;
}
