import type { ServerStats } from "../server/mod.ts";

/** Per-second rates between two reports, when the previous one is known. */
function rate(
  now: number,
  before: number | undefined,
  seconds: number,
): string {
  if (before === undefined || seconds <= 0) return "";
  return ` (${Math.round((now - before) / seconds)}/s)`;
}

/** `1d 02:03:04` or `02:03:04`. */
export function uptimeText(ms: number): string {
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const clock = [
    Math.floor(total / 3600) % 24,
    Math.floor(total / 60) % 60,
    total % 60,
  ].map((n) => String(n).padStart(2, "0")).join(":");
  return days > 0 ? `${days}d ${clock}` : clock;
}

/** `12.3 MiB`: bytes for people. */
export function bytesText(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A short report of a server, sections of `key:value` lines as `redis-cli INFO` prints them; with
 * the previous report, counters also show their rate per second.
 */
export function formatReport(
  stats: ServerStats,
  previous?: ServerStats,
): string {
  const seconds = previous === undefined
    ? 0
    : (stats.server.uptimeMs - previous.server.uptimeMs) / 1000;
  const { server, connections, traffic, sync } = stats;
  const before = previous?.traffic;
  const byProtocol = Object.entries(connections.byProtocol)
    .map(([protocol, count]) => `${protocol}=${count}`).join(" ");
  const disconnects = Object.entries(stats.disconnects)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason}=${count}`).join(" ");
  const calls = Object.entries(stats.calls)
    .map(([outcome, count]) => `${outcome}=${count}`).join(" ");
  const held = sync.semaphores.reduce((sum, s) => sum + s.held, 0);
  const queued = sync.semaphores.reduce((sum, s) => sum + s.queue.length, 0);
  const locks = sync.semaphores.filter((s) => s.permits === 1 && s.held > 0);
  const lines = [
    "# Server",
    `name:${server.name}`,
    `version:${server.version}`,
    `protocols:${server.protocols.join(",")}`,
    `uptime:${uptimeText(server.uptimeMs)}`,
    `addresses:${server.addresses.join(", ")}`,
    "",
    "# Connections",
    `open:${connections.open}${byProtocol ? ` (${byProtocol})` : ""}`,
    `waiters:${connections.receiving}`,
    `accepted:${connections.accepted}`,
    `disconnects:${disconnects || "none"}`,
    "",
    "# Traffic",
    `triggers:${traffic.triggers}${
      rate(traffic.triggers, before?.triggers, seconds)
    }`,
    `deliveries:${traffic.deliveries}${
      rate(traffic.deliveries, before?.deliveries, seconds)
    }`,
    `bytes_received:${bytesText(traffic.bytesReceived)}`,
    `bytes_sent:${bytesText(traffic.bytesSent)}`,
    "",
    "# Agents",
    `agents:${stats.agents.map((a) => a.api).join(",") || "none"}`,
    `calls:${calls || "none"}`,
    `subscriptions:${stats.subscriptions.length}`,
    "",
    "# Sync",
    `latches:${sync.latches.length}`,
    `locks_held:${locks.length}`,
    `permits_held:${held}`,
    `waiting_acquires:${queued}`,
    `leases:${sync.leases}`,
    `barriers:${sync.barriers.length}`,
    "",
    "# Process",
    `resident_memory:${bytesText(stats.process.residentMemoryBytes)}`,
    `cpu_seconds:${stats.process.cpuSecondsTotal.toFixed(2)}`,
  ];
  if (stats.process.openFds !== undefined) {
    lines.push(`open_fds:${stats.process.openFds}`);
  }
  return lines.join("\n");
}
