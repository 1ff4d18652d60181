import denoJson from "../deno.json" with { type: "json" };
import {
  type Agent,
  configureLogging,
  defineAgent,
  limitAllowsZero,
  type LimitOptions,
  type LogLevel,
  openSqliteStore,
  type ServerHttpOptions,
  type ServerOptions,
  type ServerTlsOptions,
  startServer,
  type SyncStore,
} from "../server/mod.ts";
import { isValidName } from "../protocol/mod.ts";
import {
  err,
  EXIT,
  out,
  parsePort,
  parseTool,
  readSecret,
  readText,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { CLUSTER_FLAGS, CLUSTER_HELP, readCluster } from "./_cluster_flags.ts";

/** Each limit's flag and its `startServer` option (see server/limits.ts). */
export const LIMIT_FLAGS: readonly [string, keyof LimitOptions][] = [
  ["max-connections", "maxConnections"],
  ["hello-timeout-ms", "helloTimeoutMs"],
  ["max-queued-bytes", "maxQueuedBytes"],
  ["stall-allowance-bytes", "stallAllowanceBytes"],
  ["stall-budget-bytes", "stallBudgetBytes"],
  ["max-messages-per-second", "maxMessagesPerSecond"],
  ["message-burst", "messageBurst"],
  ["max-subscriptions", "maxSubscriptions"],
  ["max-calls-in-flight", "maxCallsInFlight"],
];

/** emd's command line. */
export const spec: ToolSpec = {
  name: "emd",
  usage:
    "[-q | -Q] [--log-format FORMAT] [--host ADDR] [SECURITY] [LIMITS] [--agent MODULE]... [--data DIR] [--http PORT] [--cluster URLS [CLUSTER]] [--port-file PATH] (port | --free-port) server_name",
  help:
    `Runs the em server on port (1 to 65535, as in EM) with the name a quit must give.

Options:
  --free-port             listen on a free port picked by the system instead of a
                          given one (no port argument then) and print
                          "listening on HOST:PORT" on stdout once listening
  --port-file PATH        write the bound port (one line) to PATH once listening;
                          PATH may be a FIFO (mkfifo) a script reads
  -q                      no informational messages (warnings and errors only)
  -Q                      no messages at all
  --log-format FORMAT     text (default: "emd WARNING Closed …") or json (one
                          JSON object per line with the same properties: peer,
                          limit, value, reason, …). emd never colours its log
  --host ADDR             address to listen on (default 127.0.0.1). Elsewhere
                          without a secret, anyone who reaches it can trigger
                          events and stop emd: a warning says so
  --agent MODULE          host the agent MODULE exports by default (a path or URL;
                          repeat for several). A module that fails to load, or two
                          agents with one API name, stop emd at start (exit 1)
  --data DIR              keep latched events and leases in DIR/emd.db (SQLite;
                          DIR is created if missing) so they survive a restart,
                          kill -9 included; without it they live in memory. A
                          DIR that is not a directory, cannot be written, is in
                          use by another emd, or holds a corrupt database stops
                          emd at start (exit 1)
  --http PORT             also serve HTTP on PORT (same host): WebSocket clients
                          (AGL's x-afb-ws-json1) on /api, the browser client
                          /em.js; 0 picks a free port and prints
                          "http listening on HOST:PORT". With --tls-cert/--tls-key
                          it serves HTTPS and wss://
  --http-allow-origin ORIGIN
                          let pages from ORIGIN (e.g. https://app.example) open
                          a WebSocket; repeat for several. emd's own origin is
                          always allowed, clients without Origin too
  -h, --help, --version

Security (docs/SECURITY.md):
  --secret-file PATH      require every client to prove it knows the shared secret
                          in PATH (a trailing newline is ignored); without it
                          EM_SECRET is used. 1.1 clients cannot connect then
  --tls-cert PATH --tls-key PATH
                          serve TLS with this certificate chain and key (PEM)
  --no-remote-quit        refuse every quit from the network (logged)

Limits (a peer past one is told why with an "elimit" line and closed):
  --max-connections N     open connections at most (default 50000)
  --hello-timeout-ms N    time a new connection has to say hello (default 10000)
  --max-queued-bytes N    output queued per connection before a client that does not
                          read is cut off (default 1048576)
  --stall-allowance-bytes N
                          output a receiver whose queue made no progress for a
                          third of the stall verdict may queue past that until it
                          is judged, holding no sender back (default 0: off;
                          see docs/PERFORMANCE.md before turning it on)
  --stall-budget-bytes N  all those allowances together at most (default 67108864)
  --max-messages-per-second N
                          average messages per connection, 0 for no limit
                          (default 1000000)
  --message-burst N       messages above that average at once (default 50000000)
  --max-subscriptions N   "s" subscriptions per connection; more are refused
                          (default 1000)
  --max-calls-in-flight N agent calls per connection waiting for their answer;
                          more are refused (default 1000)

${CLUSTER_HELP}

SIGINT and SIGTERM stop the server cleanly (exit 0). A quit with the right name
stops it (exit 0). Exit 1: cannot listen, open DIR or reach the cluster; 64: bad arguments.`,
  options: {
    q: { type: "boolean", short: "q" },
    Q: { type: "boolean", short: "Q" },
    "log-format": { type: "string", default: "text" },
    host: { type: "string", default: "127.0.0.1" },
    ...Object.fromEntries(
      LIMIT_FLAGS.map(([flag]) => [flag, { type: "string" as const }]),
    ),
    agent: { type: "string", multiple: true },
    data: { type: "string" },
    "secret-file": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "no-remote-quit": { type: "boolean" },
    "free-port": { type: "boolean" },
    "port-file": { type: "string" },
    http: { type: "string" },
    "http-allow-origin": { type: "string", multiple: true },
    ...CLUSTER_FLAGS,
  },
  minPositionals: 1,
  maxPositionals: 2,
};

/** Runs emd until it is quit or signalled; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const where = readWhere(parsed.positionals, values["free-port"] === true);
  if (typeof where === "string") return usageError(spec, where);
  const { port, name } = where;
  if (!isValidName(name)) {
    return usageError(spec, `invalid server name "${name}": use [A-Za-z0-9_]+`);
  }
  const limits = readLimits(values);
  if (typeof limits === "string") return usageError(spec, limits);
  const cluster = readCluster(values);
  if (typeof cluster === "string") return usageError(spec, cluster);
  const security = readSecurity(values);
  if (typeof security === "number") return security;
  const level: LogLevel = values.Q ? null : values.q ? "warning" : "info";
  const format = values["log-format"];
  if (format !== "text" && format !== "json") {
    return usageError(
      spec,
      `invalid --log-format "${format}": use text or json`,
    );
  }
  await configureLogging({ level, prefix: "emd", format });
  const agents = await loadAgents((values.agent ?? []) as string[]);
  if (typeof agents === "number") return agents;
  const http = readHttp(values);
  if (typeof http === "string") return usageError(spec, http);
  const syncStore = openStore(values.data as string | undefined);
  if (typeof syncStore === "number") return syncStore;
  let server;
  try {
    server = await startServer({
      port,
      name,
      hostname: values.host as string,
      ...limits,
      ...security,
      agents,
      syncStore,
      version: denoJson.version,
      ...(http === undefined ? {} : { http }),
      ...(cluster === undefined ? {} : { cluster }),
    });
  } catch (error) {
    syncStore?.close();
    return startFailure(error, `${values.host}:${port}`);
  }
  const stop = () => void server.close("signal");
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    // after the signal listeners: whoever reads the port may signal at once
    if (port === 0) {
      out(`listening on ${server.addr.hostname}:${server.addr.port}`);
    }
    if (http?.port === 0 && server.httpAddr !== undefined) {
      const { hostname, port } = server.httpAddr;
      out(`http listening on ${hostname}:${port}`);
    }
    if (!await writePortFile(values["port-file"], server.addr.port)) {
      await server.close("cannot write the port file");
      return EXIT.FAILURE;
    }
    await server.finished;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    syncStore?.close(); // after the server: every change it acknowledged is written
  }
  return EXIT.OK;
}

/** The port (0 for --free-port) and name from the positionals; a usage error's reason if bad. */
function readWhere(
  positionals: readonly string[],
  freePort: boolean,
): { port: number; name: string } | string {
  if (freePort) {
    if (positionals.length === 1) return { port: 0, name: positionals[0]! };
    return `--free-port takes no port argument: expected 1 argument (server_name), got ${positionals.length}`;
  }
  if (positionals.length === 1) {
    return "expected 2 arguments (port server_name), got 1; --free-port picks a free port";
  }
  const [portText, name] = positionals as [string, string];
  const port = parsePort(portText);
  if (port !== undefined) return { port, name };
  return `invalid port "${portText}": use 1 to 65535 (--free-port picks a free one)`;
}

/** `--http PORT` and `--http-allow-origin`; a usage error's reason for a bad value. */
function readHttp(
  values: Record<string, unknown>,
): ServerHttpOptions | undefined | string {
  const origins = (values["http-allow-origin"] ?? []) as string[];
  if (values.http === undefined) {
    return origins.length === 0
      ? undefined
      : "--http-allow-origin needs --http PORT";
  }
  const text = values.http as string;
  const port = text === "0" ? 0 : parsePort(text);
  if (port === undefined) {
    return `invalid --http port "${text}": use 0 to 65535 (0 picks a free one)`;
  }
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      return `invalid --http-allow-origin "${origin}": use scheme://host[:port], e.g. https://app.example`;
    }
  }
  return { port, ...(origins.length ? { allowOrigins: origins } : {}) };
}

/** Writes the bound port to `--port-file PATH` when given; false after printing why it failed. */
async function writePortFile(
  path: unknown,
  port: number,
): Promise<boolean> {
  if (typeof path !== "string") return true;
  try {
    await Deno.writeTextFile(path, `${port}\n`);
    return true;
  } catch (error) {
    const reason = (error as Error).message.replace(
      /\s*\(os error \d+\).*$/s,
      "",
    );
    err(`emd: Cannot write port file "${path}": ${reason}`);
    return false;
  }
}

/** The shared secret, TLS files and quit setting; an exit code after printing why. */
function readSecurity(
  values: Record<string, unknown>,
): Pick<ServerOptions, "secret" | "tls" | "remoteQuit"> | number {
  const secret = readSecret(spec.name, values);
  if (typeof secret === "number") return secret;
  const [certPath, keyPath] = [values["tls-cert"], values["tls-key"]];
  if ((certPath === undefined) !== (keyPath === undefined)) {
    return usageError(spec, "--tls-cert and --tls-key go together");
  }
  let tls: ServerTlsOptions | undefined;
  if (typeof certPath === "string" && typeof keyPath === "string") {
    const cert = readText(spec.name, certPath, "TLS certificate");
    if (cert === undefined) return EXIT.FAILURE;
    const key = readText(spec.name, keyPath, "TLS key");
    if (key === undefined) return EXIT.FAILURE;
    tls = { cert, key };
  }
  return {
    ...(secret === undefined ? {} : { secret }),
    ...(tls === undefined ? {} : { tls }),
    ...(values["no-remote-quit"] === true ? { remoteQuit: false } : {}),
  };
}

/** Opens `--data DIR`'s store (none without it: the server keeps state in memory); 1 on failure. */
function openStore(dir: string | undefined): SyncStore | undefined | number {
  if (dir === undefined) return undefined;
  try {
    return openSqliteStore(dir);
  } catch (error) {
    err(`emd: ${(error as Error)?.message ?? error}`);
    return EXIT.FAILURE;
  }
}

/** The limit flags given, as options; a usage error's reason for a bad value. */
function readLimits(
  values: Record<string, unknown>,
): LimitOptions | string {
  const limits: Record<string, number> = {};
  for (const [flag, option] of LIMIT_FLAGS) {
    const text = values[flag];
    if (text === undefined) continue;
    const zeroOk = limitAllowsZero(option);
    if (!/^\d{1,15}$/.test(String(text)) || (!zeroOk && Number(text) === 0)) {
      return `invalid --${flag} "${text}": use a ${
        zeroOk ? "non-negative" : "positive"
      } integer`;
    }
    limits[option] = Number(text);
  }
  return limits;
}

/** Imports each agent module and checks its default export; prints why and returns 1 on failure. */
async function loadAgents(specifiers: string[]): Promise<Agent[] | number> {
  const agents: Agent[] = [];
  for (const specifier of specifiers) {
    const url =
      /^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)
        ? specifier
        : (await import("node:url")).pathToFileURL(specifier).href; // from the working directory
    try {
      const module = await import(url);
      if (module.default === undefined) {
        throw new TypeError(
          "it has no default export (export default defineAgent({...}))",
        );
      }
      agents.push(defineAgent(module.default));
    } catch (error) {
      err(
        `emd: Cannot load agent "${specifier}": ${
          (error as Error)?.message ?? error
        }`,
      );
      return EXIT.FAILURE;
    }
  }
  return agents;
}

/** One stderr line for a failed start (bad agents, or cannot listen); returns 1. */
function startFailure(error: unknown, where: string): number {
  const message = (error as Error)?.message ?? String(error);
  const agents = error instanceof TypeError ||
    /^Cannot (start agent|join the cluster)/.test(message);
  err(
    agents ? `emd: ${message}` : `emd: Cannot listen on "${where}": ${message}`,
  );
  return EXIT.FAILURE;
}
