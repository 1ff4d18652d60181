/**
 * The short forms of the client tools: a default server from `-s HOST:PORT` or `EM_SERVER`, so
 * that `emtrigger build_done` means `emtrigger HOST PORT build_done`. EM's full forms keep their
 * meaning; the argument count tells the two apart (README, "Short forms").
 */

/** The environment variable naming the default server of the client tools. */
export const SERVER_ENV = "EM_SERVER";

/** One server of a `-s`/`EM_SERVER` value. */
export interface ServerAddress {
  readonly hostname: string;
  readonly port: number;
}

const PORT_LIKE = /^\d{1,5}$/;

/**
 * Reads `HOST:PORT[,HOST:PORT…]` (IPv6 in brackets: `[::1]:4000`); the list form is the syntax
 * client failover takes. Returns the servers, or why the text is not a server list.
 */
export function parseServerList(text: string): ServerAddress[] | string {
  const servers: ServerAddress[] = [];
  for (const item of text.split(",")) {
    const match = item.match(/^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/);
    const port = Number(match?.[3]);
    if (match === null || port < 1 || port > 65535) {
      return `invalid server "${item}": use HOST:PORT (port 1 to 65535)`;
    }
    servers.push({ hostname: match[1] ?? match[2]!, port });
  }
  return servers;
}

/** The tool's positional counts in EM's full form (`hostname port …`). */
export interface FullForm {
  readonly min: number;
  readonly max: number;
}

/**
 * EM's full-form positionals (`hostname port …`) for `positionals`: as given, or with the default
 * server in front. The short form is taken when `-s` is given, when the count fits only the short
 * form (two fewer), or, where both fit (emsub's names, a command without `--`), when the second
 * argument is no port number. Returns the positionals, or a usage error's reason.
 */
export function placeServer(
  positionals: readonly string[],
  form: FullForm,
  given: string | undefined,
): string[] | string {
  const count = positionals.length;
  const full = count >= form.min && count <= form.max;
  const short = count >= Math.max(0, form.min - 2) && count <= form.max - 2;
  const useShort = given !== undefined ||
    (short && (!full || !PORT_LIKE.test(positionals[1] ?? "")));
  if (!useShort && full) return [...positionals];
  if (!short) {
    return `expected ${range(form.min, form.max)} arguments (or ${
      range(Math.max(0, form.min - 2), form.max - 2)
    } with -s HOST:PORT or ${SERVER_ENV}), got ${count}`;
  }
  const text = given ?? defaultServer();
  if (text === undefined) {
    return `no server: give hostname port, -s HOST:PORT or ${SERVER_ENV}=HOST:PORT`;
  }
  const servers = parseServerList(text);
  if (typeof servers === "string") {
    return given === undefined ? `${SERVER_ENV}: ${servers}` : servers;
  }
  const [{ hostname, port }] = servers as [ServerAddress];
  if (servers.length > 1) return [text, String(port), ...positionals]; // a list: failover
  return [hostname, String(port), ...positionals];
}

/** EM_SERVER when it is set, not empty and readable (never prompts). */
function defaultServer(): string | undefined {
  const permission = Deno.permissions.querySync({
    name: "env",
    variable: "EM_SERVER",
  });
  if (permission.state !== "granted") return undefined;
  return Deno.env.get("EM_SERVER") || undefined;
}

function range(min: number, max: number): string {
  if (min === max) return String(min);
  return max > 1000 ? `${min} or more` : `${min} to ${max}`;
}

/**
 * The servers of a full form's `hostname port` when `hostname` is a list (`h1,h2:4001`: an item
 * without its own port takes `port`); undefined when it is one host name.
 */
export function serversOf(
  hostname: string,
  port: number,
): ServerAddress[] | string | undefined {
  if (!hostname.includes(",")) return undefined;
  const items = hostname.split(",").map((item) =>
    /^(?:\[[^\]]+\]|[^:\[\]]+)$/.test(item) ? `${item}:${port}` : item
  );
  return parseServerList(items.join(","));
}
