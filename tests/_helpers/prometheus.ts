/**
 * A real Prometheus (Debian's `prometheus`) for one test: its own config, data directory and port
 * on 127.0.0.1, scraping one target every 200 ms; every wait is bounded.
 */
import { type ProcessLog, spawnLogged } from "../../bench/_process_log.ts";
import { until } from "./until.ts";

export { until };

/** A running Prometheus. */
export interface PrometheusProcess extends AsyncDisposable {
  /** Its HTTP port on 127.0.0.1. */
  readonly port: number;
  /** Runs an instant query; returns the first sample's value, or undefined when none. */
  query(expression: string): Promise<string | undefined>;
  /** Everything it logged so far. */
  log(): string;
}

/** What to scrape. */
export interface ScrapeTarget {
  /** `host:port` of emd's HTTP listener. */
  readonly target: string;
  /** A bearer token to send (emd's shared secret). */
  readonly bearer?: string;
}

/** Starts Prometheus scraping `target`; resolves once it answers `/-/ready`. */
export async function startPrometheus(
  { target, bearer }: ScrapeTarget,
): Promise<PrometheusProcess> {
  const dir = await Deno.makeTempDir({ prefix: "em_prometheus_" });
  const auth = bearer === undefined
    ? ""
    : `    authorization:\n      type: Bearer\n      credentials_file: ${dir}/token\n`;
  if (bearer !== undefined) await Deno.writeTextFile(`${dir}/token`, bearer);
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: emd\n${auth}    static_configs:\n      - targets: ["${target}"]\n`,
  );
  const { child, log } = spawnLogged("prometheus", [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    "--web.listen-address=127.0.0.1:0", // its choice: it logs the port it bound
    "--log.level=info",
  ]);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    await log.ended;
    await Deno.remove(dir, { recursive: true });
  };
  let port: number;
  try {
    port = await readyPort(log);
  } catch (error) {
    await stop();
    throw error;
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    log: () => log.text,
    async query(expression) {
      const url = `${base}/api/v1/query?query=${
        encodeURIComponent(expression)
      }`;
      const body = await (await fetch(url)).json();
      return body?.data?.result?.[0]?.value?.[1];
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** The port Prometheus bound (as it logs it), once it answers `/-/ready`; bounded. */
async function readyPort(log: ProcessLog): Promise<number> {
  const port = Number(
    (await log.match(
      /msg="Listening on" address=127\.0\.0\.1:(\d+)/,
      "Prometheus listening",
      20_000,
    ))[1],
  );
  await until(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/-/ready`)
      .catch(() => undefined);
    await response?.body?.cancel();
    return response?.status === 200;
  }, `Prometheus ready on ${port}: ${log.text}`);
  return port;
}

/** Runs `promtool check metrics` on `text`; returns its exit code and output. */
export async function promtool(text: string) {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}
