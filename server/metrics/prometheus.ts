import type { ClusterLinkStats, ServerStats } from "./stats.ts";

/** The media type of the Prometheus text exposition format emd writes. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [Labels, number];

/** The protocols `em_connections` always lists, so a graph never loses a line. */
const PROTOCOLS = ["1.1", "1.2", "websocket"];

/**
 * Renders a report in the Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`,
 * then samples; counters end in `_total`. Pure: the same report gives the same text.
 * @param stats the server's report
 * @returns the text, ending with a line end
 */
export function renderPrometheus(stats: ServerStats): string {
  const out: string[] = [];
  const metric = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: readonly Sample[] | number,
  ) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const list = typeof samples === "number"
      ? [[{}, samples] as const]
      : samples;
    for (const [labels, value] of list) {
      out.push(`${name}${labelText(labels)} ${numberText(value)}`);
    }
  };
  const { server, connections, traffic, sync } = stats;
  metric(
    "em_build_info",
    "gauge",
    "The version of emd and the protocols it speaks.",
    [[{
      version: server.version,
      protocols: server.protocols.join(","),
    }, 1]],
  );
  const protocols = new Set([
    ...PROTOCOLS,
    ...Object.keys(connections.byProtocol),
  ]);
  metric(
    "em_connections",
    "gauge",
    'Open connections by protocol ("pending": before the hello).',
    [...protocols].map((
      protocol,
    ) => [{ protocol }, connections.byProtocol[protocol] ?? 0]),
  );
  metric(
    "em_connections_accepted_total",
    "counter",
    "Connections accepted.",
    connections.accepted,
  );
  metric(
    "em_triggers_total",
    "counter",
    "Triggers received from clients and agents.",
    traffic.triggers,
  );
  metric(
    "em_deliveries_total",
    "counter",
    "Trigger and event messages sent to receivers.",
    traffic.deliveries,
  );
  metric(
    "em_bytes_received_total",
    "counter",
    "Bytes read from peers.",
    traffic.bytesReceived,
  );
  metric(
    "em_bytes_sent_total",
    "counter",
    "Bytes written to peers.",
    traffic.bytesSent,
  );
  metric(
    "em_disconnects_total",
    "counter",
    "Connections ended, by reason.",
    Object.entries(stats.disconnects).map((
      [reason, count],
    ) => [{ reason }, count]),
  );
  metric(
    "em_waiters",
    "gauge",
    "Connections receiving triggers (flag F1).",
    connections.receiving,
  );
  metric(
    "em_subscriptions",
    "gauge",
    "Name and pattern subscriptions held by receivers.",
    stats.subscriptions.reduce((sum, s) => sum + s.receivers, 0),
  );
  metric("em_agents", "gauge", "Hosted agents.", stats.agents.length);
  const calls = Object.entries(stats.calls);
  metric(
    "em_agent_calls_total",
    "counter",
    "Agent calls answered.",
    calls.reduce((sum, [, n]) => sum + n, 0),
  );
  metric(
    "em_agent_call_failures_total",
    "counter",
    "Agent calls answered with a failure, by failure code.",
    calls.filter(([code]) => code !== "ok").map((
      [code, count],
    ) => [{ code }, count]),
  );
  metric("em_sync_latches", "gauge", "Latched events.", sync.latches.length);
  metric(
    "em_sync_locks_held",
    "gauge",
    "Locks (semaphores of one permit) held.",
    sync.semaphores.filter((s) => s.permits === 1 && s.held > 0).length,
  );
  metric(
    "em_sync_permits_held",
    "gauge",
    "Semaphore permits held, locks included.",
    sync.semaphores.reduce((sum, s) => sum + s.held, 0),
  );
  metric(
    "em_sync_waiting_acquires",
    "gauge",
    "Acquires waiting for permits.",
    sync.semaphores.reduce((sum, s) => sum + s.queue.length, 0),
  );
  metric("em_sync_leases", "gauge", "Leases held.", sync.leases);
  metric(
    "em_sync_barrier_arrivals",
    "gauge",
    "Parties waiting at barriers.",
    sync.barriers.reduce((sum, b) => sum + b.waiting.length, 0),
  );
  metric(
    "em_sync_barriers",
    "gauge",
    "Barriers with waiting parties.",
    sync.barriers.length,
  );
  if (stats.cluster !== undefined) clusterMetrics(stats.cluster, metric);
  const proc = stats.process;
  metric(
    "process_resident_memory_bytes",
    "gauge",
    "Resident memory size in bytes.",
    proc.residentMemoryBytes,
  );
  metric(
    "process_cpu_seconds_total",
    "counter",
    "User and system CPU time spent in seconds.",
    proc.cpuSecondsTotal,
  );
  if (proc.openFds !== undefined) {
    metric(
      "process_open_fds",
      "gauge",
      "Number of open file descriptors.",
      proc.openFds,
    );
  }
  metric(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds.",
    proc.startTimeSeconds,
  );
  return out.join("\n") + "\n";
}

/** The link of a clustered node: up or not, reconnects, deliveries to and from other nodes. */
function clusterMetrics(
  link: ClusterLinkStats,
  metric: (
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: number,
  ) => void,
): void {
  metric(
    "em_cluster_connected",
    "gauge",
    "1 while the link to the NATS cluster is up, else 0.",
    link.connected ? 1 : 0,
  );
  metric(
    "em_cluster_reconnects_total",
    "counter",
    "Times the link to the NATS cluster came back after dropping.",
    link.reconnects,
  );
  metric(
    "em_cluster_deliveries_out_total",
    "counter",
    "Deliveries published to the other nodes.",
    link.deliveriesOut,
  );
  metric(
    "em_cluster_deliveries_in_total",
    "counter",
    "Deliveries from other nodes that reached this node.",
    link.deliveriesIn,
  );
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${
    entries.map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(",")
  }}`;
}

/** A label value with `\`, `"` and line feeds escaped, as the format asks. */
export function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
