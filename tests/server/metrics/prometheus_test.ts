// The Prometheus text of a report: checked by a real `promtool check metrics` (Debian's prometheus
// package; .ci/run installs it when missing), for an empty and a busy server's report.
import assert from "node:assert/strict";
import { connect } from "../../../client/mod.ts";
import { startServer } from "../../../server/mod.ts";
import {
  escapeLabel,
  renderPrometheus,
} from "../../../server/metrics/prometheus.ts";
import { NO_SYNC, type ServerStats } from "../../../server/metrics/stats.ts";
import { promtool } from "../../_helpers/prometheus.ts";

const REPORT: ServerStats = {
  server: {
    name: "t",
    version: '0.1.0 "quoted"\\',
    protocols: ["1.1", "1.2"],
    startTimeMs: 1_700_000_000_000,
    uptimeMs: 5,
    addresses: ["tcp 127.0.0.1:4000"],
  },
  connections: {
    open: 3,
    byProtocol: { "1.1": 1, "1.2": 1, pending: 1 },
    receiving: 2,
    accepted: 9,
  },
  traffic: { triggers: 10, deliveries: 20, bytesReceived: 300, bytesSent: 400 },
  disconnects: {
    peer_closed: 1,
    hello_timeout: 0,
    limit: 0,
    slow_receiver: 2,
    protocol_error: 0,
    auth: 3,
    server_stopping: 0,
    io_error: 0,
  },
  recentDisconnects: [],
  calls: { ok: 4, "unknown-verb": 1, "my.code": 2 },
  agents: [{
    api: "a",
    verbs: ["v"],
    events: [{ name: "a/e", subscribers: 1 }],
  }],
  subscriptions: [{ pattern: "a/*", receivers: 2 }],
  sync: {
    latches: ["x"],
    semaphores: [{
      name: "lock",
      permits: 1,
      held: 1,
      holders: [{ holder: "127.0.0.1:1", count: 1, lease: false }],
      queue: [{ peer: "127.0.0.1:2", count: 1 }],
    }],
    leases: 0,
    barriers: [{ name: "b", parties: 3, waiting: ["127.0.0.1:3"] }],
  },
  process: {
    residentMemoryBytes: 1e6,
    cpuSecondsTotal: 0.25,
    openFds: 12,
    startTimeSeconds: 1_700_000_000.5,
  },
};

Deno.test("prometheus: label values escape backslash, quote and line feed", () => {
  assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

Deno.test("prometheus: a report renders every metric the issue asks for, with values", () => {
  const text = renderPrometheus(REPORT);
  for (
    const line of [
      'em_build_info{version="0.1.0 \\"quoted\\"\\\\",protocols="1.1,1.2"} 1',
      'em_connections{protocol="1.1"} 1',
      'em_connections{protocol="websocket"} 0',
      'em_connections{protocol="pending"} 1',
      "em_triggers_total 10",
      "em_deliveries_total 20",
      "em_bytes_received_total 300",
      "em_bytes_sent_total 400",
      'em_disconnects_total{reason="slow_receiver"} 2',
      'em_disconnects_total{reason="auth"} 3',
      "em_waiters 2",
      "em_agent_calls_total 7",
      'em_agent_call_failures_total{code="unknown-verb"} 1',
      "em_sync_latches 1",
      "em_sync_locks_held 1",
      "em_sync_permits_held 1",
      "em_sync_waiting_acquires 1",
      "em_sync_leases 0",
      "em_sync_barrier_arrivals 1",
      "process_resident_memory_bytes 1000000",
      "process_cpu_seconds_total 0.25",
      "process_open_fds 12",
      "process_start_time_seconds 1700000000.5",
    ]
  ) {
    assert.ok(text.split("\n").includes(line), `missing: ${line}\n${text}`);
  }
  assert.ok(!text.includes('code="ok"'), "ok is not a failure");
});

Deno.test("prometheus: promtool check metrics accepts a report without complaint", async () => {
  const { code, output } = await promtool(renderPrometheus(REPORT));
  assert.equal(output, "");
  assert.equal(code, 0);
});

Deno.test("prometheus: promtool accepts a live server's report, no sync state, no fds", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port, receive: true });
  await client.trigger("x");
  await client.flush();
  const { openFds: _, ...process } = server.stats().process;
  const text = renderPrometheus({ ...server.stats(), process, sync: NO_SYNC });
  assert.ok(!text.includes("process_open_fds"));
  const { code, output } = await promtool(text);
  assert.equal(output, "");
  assert.equal(code, 0);
});

Deno.test("prometheus: promtool does complain about a broken exposition (the check can fail)", async () => {
  const broken = "# TYPE em_triggers counter\nem_triggers 1\n";
  const { output } = await promtool(broken);
  assert.match(output, /counter metrics should have "_total" suffix/);
});
