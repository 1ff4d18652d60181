/**
 * The dashboard emd serves at `GET /`: one HTML page and one script, no build step, no CDN. The
 * script opens em's own WebSocket (`/api`, x-afb-ws-json1), calls `emd/watch` and redraws from the
 * `emd/stats` reports (once a second) and `emd/events` batches; nothing polls over HTTP. The chart
 * is hand-drawn SVG: two lines over two minutes need no library.
 */

/** The page: layout and styles; the script fills it in. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>emd</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #fbfbfa; --fg: #1d1f21; --muted: #6b6f76; --line: #e3e3e0; --panel: #ffffff;
  --accent: #2f6db5; --accent2: #b5632f; --bad: #b3261e; --good: #2e7d32;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #151719; --fg: #dcdfe3; --muted: #8b9098; --line: #2b2f33; --panel: #1c1f22;
    --accent: #6ea8e8; --accent2: #e0a070; --bad: #f28b82; --good: #81c995;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: 4px 18px; align-items: baseline;
  padding: 10px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header .meta { color: var(--muted); }
#link { margin-left: auto; font-size: 12px; }
#link.up { color: var(--good); } #link.down { color: var(--bad); }
main { display: grid; gap: 12px; padding: 12px 16px;
  grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 10px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 6px; font-weight: 600; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 8px; }
.tile b { display: block; font-size: 20px; font-weight: 500; font-variant-numeric: tabular-nums; }
.tile span { color: var(--muted); font-size: 11px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: 11px; }
td, th { padding: 2px 6px 2px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; }
td.data { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
  max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.scroll { max-height: 280px; overflow: auto; }
.empty { color: var(--muted); font-style: italic; }
svg { width: 100%; height: 120px; display: block; }
.legend { font-size: 11px; color: var(--muted); text-transform: none; letter-spacing: normal;
  font-weight: 400; }
.legend i { display: inline-block; width: 10px; height: 2px; vertical-align: middle; margin: 0 4px 0 8px; }
input[type=search] { width: 100%; padding: 3px 6px; margin-bottom: 6px; background: var(--bg);
  color: var(--fg); border: 1px solid var(--line); border-radius: 4px; font: inherit; }
</style>
</head>
<body>
<header>
  <h1 id="server-name">emd</h1>
  <span class="meta" id="server-version"></span>
  <span class="meta">up <span id="server-uptime">–</span></span>
  <span class="meta" id="server-addresses"></span>
  <span id="link" class="down">connecting…</span>
</header>
<main>
  <section class="wide">
    <div class="tiles">
      <div class="tile"><b id="connections-open">–</b><span>connections</span></div>
      <div class="tile"><b id="waiters">–</b><span>waiters</span></div>
      <div class="tile"><b id="triggers-rate">–</b><span>triggers/s</span></div>
      <div class="tile"><b id="deliveries-rate">–</b><span>deliveries/s</span></div>
      <div class="tile"><b id="triggers-total">–</b><span>triggers</span></div>
      <div class="tile"><b id="deliveries-total">–</b><span>deliveries</span></div>
      <div class="tile"><b id="bytes-in">–</b><span>received</span></div>
      <div class="tile"><b id="bytes-out">–</b><span>sent</span></div>
      <div class="tile"><b id="memory">–</b><span>resident memory</span></div>
    </div>
  </section>
  <section class="wide">
    <h2>Per second, last two minutes
      <span class="legend"><i style="background:var(--accent)"></i>triggers<i style="background:var(--accent2)"></i>deliveries · top <span id="chart-max">–</span>/s</span></h2>
    <svg id="chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="triggers and deliveries per second"></svg>
  </section>
  <section class="wide">
    <h2>Recent events</h2>
    <input type="search" id="event-filter" placeholder="filter by name or pattern (build_*, speed/*)">
    <div class="scroll"><table><thead><tr><th>time</th><th>name</th><th class="num">bytes</th><th>data</th><th>from</th><th class="num">receivers</th></tr></thead>
    <tbody id="events"></tbody></table></div>
    <div class="legend" id="events-skipped"></div>
  </section>
  <section><h2>Connections</h2><div id="connections"></div></section>
  <section><h2>Subscriptions</h2><div id="subscriptions"></div></section>
  <section><h2>Agents</h2><div id="agents"></div></section>
  <section><h2>Locks and semaphores</h2><div id="semaphores"></div></section>
  <section><h2>Latches, leases, barriers</h2><div id="latches"></div></section>
  <section><h2>Disconnects</h2><div id="disconnects"></div></section>
</main>
<script type="module" src="/dashboard.js"></script>
</body>
</html>
`;

/** The page's script (plain JavaScript for the browser). */
export const DASHBOARD_SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const HISTORY = 120, MAX_EVENTS = 200;
const state = { previous: undefined, rates: [], events: [], filter: () => true };

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}
function count(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + " G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return String(Math.round(n));
}
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit++; }
  return (unit ? n.toFixed(1) : n) + " " + units[unit];
}
function clock(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":") +
    "." + String(d.getMilliseconds()).padStart(3, "0");
}
function uptime(ms) {
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
  const clock = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60]
    .map((n) => String(n).padStart(2, "0")).join(":");
  return d ? d + "d " + clock : clock;
}
function table(head, rows, empty) {
  if (rows.length === 0) return '<p class="empty">' + esc(empty) + "</p>";
  const th = head.map((h) => h.startsWith("#") ? '<th class="num">' + esc(h.slice(1)) + "</th>" : "<th>" + esc(h) + "</th>").join("");
  const tr = rows.map((r) => "<tr>" + r.map((c, i) => head[i].startsWith("#") ? '<td class="num">' + esc(c) + "</td>" : "<td>" + esc(c) + "</td>").join("") + "</tr>").join("");
  return '<div class="scroll"><table><thead><tr>' + th + "</tr></thead><tbody>" + tr + "</tbody></table></div>";
}
function matcher(text) {
  text = text.trim();
  if (text === "") return () => true;
  if (!text.includes("*")) return (name) => name.includes(text);
  const source = text.replace(/[.+?^\${}()|[\]\\/-]/g, "\\$&").replace(/\*/g, "[^/]*");
  const re = new RegExp("^" + source + "$");
  return (name) => re.test(name);
}

function render(stats) {
  const { server, connections, traffic, sync } = stats;
  document.title = server.name + " · emd";
  $("server-name").textContent = server.name;
  $("server-version").textContent = "emd " + server.version + " · protocols " + server.protocols.join(", ");
  $("server-uptime").textContent = uptime(server.uptimeMs);
  $("server-addresses").textContent = server.addresses.join(" · ");
  $("connections-open").textContent = count(connections.open);
  $("waiters").textContent = count(connections.receiving);
  $("triggers-total").textContent = count(traffic.triggers);
  $("deliveries-total").textContent = count(traffic.deliveries);
  $("bytes-in").textContent = bytes(traffic.bytesReceived);
  $("bytes-out").textContent = bytes(traffic.bytesSent);
  $("memory").textContent = bytes(stats.process.residentMemoryBytes);
  const previous = state.previous;
  if (previous) {
    const seconds = Math.max(0.001, (server.uptimeMs - previous.server.uptimeMs) / 1000);
    const rate = {
      triggers: (traffic.triggers - previous.traffic.triggers) / seconds,
      deliveries: (traffic.deliveries - previous.traffic.deliveries) / seconds,
    };
    state.rates.push(rate);
    if (state.rates.length > HISTORY) state.rates.shift();
    $("triggers-rate").textContent = count(rate.triggers);
    $("deliveries-rate").textContent = count(rate.deliveries);
    drawChart();
  }
  state.previous = stats;
  const kinds = Object.entries(connections.byProtocol).map(([k, n]) => k + ": " + n).join(" · ");
  $("connections").innerHTML = '<p class="legend">' + esc(kinds || "none") + "</p>" +
    table(["peer", "protocol", "receiving", "#queued"], (connections.peers || []).map((p) =>
      [p.peer, p.protocol, p.receiving ? "yes" : "", bytes(p.queuedBytes)]), "no connections");
  $("subscriptions").innerHTML = '<p class="legend">waiters (flag F1): ' + connections.receiving + "</p>" +
    table(["name or pattern", "#receivers"], stats.subscriptions.map((s) => [s.pattern, s.receivers]), "no subscriptions");
  $("agents").innerHTML = table(["api", "verbs", "events"], stats.agents.map((a) => [
    a.api, a.verbs.join(", "), a.events.map((e) => e.name + " (" + e.subscribers + ")").join(", "),
  ]), "no agents");
  $("semaphores").innerHTML = table(["name", "#permits", "#held", "holders", "queue"], sync.semaphores.map((s) => [
    s.name, s.permits, s.held,
    s.holders.map((h) => h.holder + (h.count > 1 ? " ×" + h.count : "")).join(", "),
    s.queue.map((q) => q.peer + (q.count > 1 ? " ×" + q.count : "")).join(", "),
  ]), "nothing held");
  $("latches").innerHTML = '<p class="legend">leases: ' + sync.leases + "</p>" +
    table(["latched events"], sync.latches.map((l) => [l]), "no latches") +
    table(["barrier", "#parties", "waiting"], sync.barriers.map((b) => [b.name, b.parties, b.waiting.join(", ")]), "no barriers");
  const reasons = Object.entries(stats.disconnects).filter(([, n]) => n > 0).map(([r, n]) => r + ": " + n).join(" · ");
  $("disconnects").innerHTML = '<p class="legend">' + esc(reasons || "none") + "</p>" +
    table(["time", "peer", "kind", "reason"], stats.recentDisconnects.slice().reverse().map((d) => [
      clock(d.atMs), d.peer, d.kind, d.reason,
    ]), "no disconnects");
}

function drawChart() {
  const rates = state.rates, width = 600, height = 120;
  const max = Math.max(1, ...rates.map((r) => Math.max(r.triggers, r.deliveries)));
  $("chart-max").textContent = count(max);
  const line = (key) => rates.map((r, i) =>
    ((width * (HISTORY - rates.length + i)) / (HISTORY - 1)).toFixed(1) + "," +
    (height - 14 - ((height - 20) * r[key]) / max).toFixed(1)).join(" ");
  $("chart").innerHTML =
    '<line x1="0" y1="106" x2="600" y2="106" stroke="var(--line)"/>' +
    '<polyline fill="none" stroke="var(--accent2)" stroke-width="1.5" vector-effect="non-scaling-stroke" points="' + line("deliveries") + '"/>' +
    '<polyline fill="none" stroke="var(--accent)" stroke-width="1.5" vector-effect="non-scaling-stroke" points="' + line("triggers") + '"/>';
}

function addEvents(batch) {
  for (const event of batch.events) state.events.unshift(event);
  state.events.length = Math.min(state.events.length, MAX_EVENTS);
  $("events-skipped").textContent = batch.skipped ? batch.skipped + " more events passed in the last batch, not listed" : "";
  drawEvents();
}
function drawEvents() {
  const rows = state.events.filter((e) => state.filter(e.name)).map((e) =>
    "<tr><td>" + esc(clock(e.atMs)) + "</td><td>" + esc(e.name) +
    '</td><td class="num">' + e.bytes + '</td><td class="data">' + esc(e.preview ?? "") +
    "</td><td>" + esc(e.from) + '</td><td class="num">' + e.receivers + "</td></tr>");
  $("events").innerHTML = rows.join("") || '<tr><td colspan="6" class="empty">no events yet</td></tr>';
}
$("event-filter").addEventListener("input", (e) => { state.filter = matcher(e.target.value); drawEvents(); });

function connect(delayMs) {
  const token = new URLSearchParams(location.search).get("token");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api" +
    (token ? "?token=" + encodeURIComponent(token) : "");
  const ws = new WebSocket(url, "x-afb-ws-json1");
  ws.onopen = () => {
    $("link").textContent = "live"; $("link").className = "up";
    ws.send(JSON.stringify([2, "watch", "emd/watch", { events: true, stats: true }]));
  };
  ws.onmessage = (message) => {
    const [code, id, body] = JSON.parse(message.data);
    if (code === 3 && id === "watch") render(body.response);
    else if (code === 4) { $("link").textContent = "refused: " + (body.request.info || body.request.status); $("link").className = "down"; }
    else if (code === 5 && id === "emd/stats") render(body.data);
    else if (code === 5 && id === "emd/events") addEvents(body.data);
  };
  ws.onclose = () => {
    $("link").textContent = "disconnected, retrying…"; $("link").className = "down";
    setTimeout(() => connect(Math.min(10000, delayMs * 2)), delayMs);
  };
}
drawEvents();
connect(500);
`;
