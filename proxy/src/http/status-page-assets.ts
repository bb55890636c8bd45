// The status page itself: one HTML document with its style and script inline, no build step.
// The script renders with textContent only (backend names, errors and tool descriptions come from
// servers we do not control), and reads every field defensively.

export const STATUS_JSON_PATH = '/ui/status.json';
export const POLL_MS = 2_000;

export const PAGE_STYLE = `
:root { color-scheme: light dark; --bg:#f6f7f9; --card:#fff; --fg:#1d2330; --muted:#5f6b7a; --line:#e2e6ec;
  --ok:#1a7f37; --okbg:#dcf5e3; --bad:#b42318; --badbg:#fde7e5; --wait:#9a6700; --waitbg:#fff4d6; --accent:#2f5bd3; }
@media (prefers-color-scheme: dark) { :root { --bg:#12151b; --card:#1b1f27; --fg:#e6e9ef; --muted:#97a1b0;
  --line:#2b313c; --okbg:#16341f; --badbg:#3d1714; --waitbg:#3a2e0b; --ok:#5fd07f; --bad:#ff8a80; --wait:#f0c050; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--fg); }
header { background:var(--card); border-bottom:1px solid var(--line); }
header .bar { display:flex; flex-wrap:wrap; gap:8px 24px; align-items:baseline; max-width:1100px; margin:0 auto; padding:16px 24px; }
header h1 { margin:0; font-size:20px; }
header .meta { color:var(--muted); }
main { max-width:1100px; margin:0 auto; padding:20px 24px 40px; }
.totals { display:flex; flex-wrap:wrap; gap:12px; margin-bottom:18px; }
.total { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; min-width:120px; }
.total b { display:block; font-size:22px; }
.total span { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.backend { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; margin-bottom:12px; }
.backend.failed { border-left:4px solid var(--bad); }
.backend.ready { border-left:4px solid var(--ok); }
.backend.connecting, .backend.stopped { border-left:4px solid var(--wait); }
.row { display:flex; flex-wrap:wrap; gap:6px 18px; align-items:baseline; }
.name { font-weight:600; font-size:16px; }
.pill { font-size:12px; font-weight:600; padding:1px 8px; border-radius:999px; }
.pill.ready { color:var(--ok); background:var(--okbg); }
.pill.failed { color:var(--bad); background:var(--badbg); }
.pill.connecting, .pill.stopped { color:var(--wait); background:var(--waitbg); }
.facts { color:var(--muted); margin-top:4px; }
.facts code, .target { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.target { color:var(--muted); margin-top:2px; word-break:break-all; }
.error { margin-top:8px; padding:8px 10px; border-radius:6px; background:var(--badbg); color:var(--bad); white-space:pre-wrap; word-break:break-word; font:12px ui-monospace, SFMono-Regular, Menlo, monospace; }
details { margin-top:8px; }
summary { cursor:pointer; color:var(--accent); }
table { border-collapse:collapse; width:100%; margin-top:6px; }
td, th { text-align:left; padding:4px 8px; border-top:1px solid var(--line); vertical-align:baseline; }
th { color:var(--muted); font-weight:500; font-size:12px; }
td.tool { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; white-space:nowrap; }
h2 { font-size:15px; margin:24px 0 8px; }
#banner { display:none; margin-bottom:14px; padding:10px 12px; border-radius:8px; background:var(--badbg); color:var(--bad); }
#token { display:none; margin-bottom:14px; background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px; }
#token input { font:inherit; padding:4px 8px; width:320px; max-width:100%; }
.empty { color:var(--muted); }
.lost { color:var(--wait); }
`;

export const PAGE_SCRIPT = `
"use strict";
const STATUS_URL = ${JSON.stringify(STATUS_JSON_PATH)};
const POLL_MS = ${POLL_MS};
const TOKEN_KEY = "multi-mcp-admin-token";
const open = new Set();
let lastOk = 0;

const str = (v, d = "") => (typeof v === "string" ? v : d);
const num = (v) => (typeof v === "number" && isFinite(v) ? v : 0);
const arr = (v) => (Array.isArray(v) ? v : []);
const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function ago(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return "";
  return duration(Math.max(0, (Date.now() - t) / 1000)) + " ago";
}
function duration(s) {
  s = Math.round(s);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}

function backendCard(b, collisions) {
  const name = str(b.name, "?");
  const state = str(b.state, "unknown");
  const info = obj(b.serverInfo);
  const counts = obj(b.counts);
  const tools = arr(b.tools);
  const card = el("section", { class: "backend " + state, "data-backend": name });
  card.append(el("div", { class: "row" },
    el("span", { class: "name" }, name),
    el("span", { class: "pill " + state }, state),
    el("span", { class: "facts" }, "since " + ago(str(b.since))),
  ));
  const facts = [
    "transport " + str(b.transport, "–"),
    info.name ? "server " + str(info.name) + " " + str(info.version) : "server –",
    num(b.restarts) + " restarts",
    num(counts.tools) + " tools · " + num(counts.prompts) + " prompts · " +
      num(counts.resources) + " resources · " + num(counts.resourceTemplates) + " templates",
    "owner " + str(b.owner, "–"),
  ];
  card.append(el("div", { class: "facts" }, facts.join("  ·  ")));
  const lost = collisions.filter((c) => obj(c).droppedFrom === name).length;
  if (lost) card.append(el("div", { class: "lost" }, lost + (lost === 1 ? " name" : " names") +
    " lost to collisions with earlier servers (see below)"));
  const withheld = arr(b.withheld).map(obj);
  const drifted = withheld.filter((w) => w.reason === "drifted").map((w) => str(w.original));
  const held = withheld.filter((w) => w.reason === "held").map((w) => str(w.original));
  if (drifted.length) card.append(el("div", { class: "error", role: "alert" }, "quarantined, definition changed since pinned: " +
    drifted.join(", ") + " (approve: POST /mcp_servers/" + name + "/pins)"));
  if (held.length) card.append(el("div", { class: "lost" }, "held back, no pin (--pin-policy strict): " + held.join(", ")));
  if (str(b.target)) card.append(el("div", { class: "target" }, str(b.target)));
  if (b.error) card.append(el("div", { class: "error", role: "alert" }, str(b.error, String(b.error))));
  if (tools.length > 0) {
    const details = el("details", {});
    if (open.has(name)) details.open = true;
    details.addEventListener("toggle", () => (details.open ? open.add(name) : open.delete(name)));
    const table = el("table", {}, el("tr", {}, el("th", {}, "exposed name"), el("th", {}, "description")));
    for (const t of tools) {
      const tool = obj(t);
      table.append(el("tr", {}, el("td", { class: "tool" }, str(tool.name)), el("td", {}, str(tool.description))));
    }
    details.append(el("summary", {}, tools.length + (tools.length === 1 ? " tool" : " tools")), table);
    card.append(details);
  }
  return card;
}

function virtualServerCard(v) {
  const name = str(v.name, "?");
  const counts = obj(v.counts);
  const missing = arr(v.missingBackends).map((b) => str(b));
  const backends = Array.isArray(v.backends) ? v.backends.map((b) => str(b)) : null;
  const card = el("section", { class: "backend virtual", "data-virtual-server": name });
  card.append(el("div", { class: "row" },
    el("span", { class: "name" }, name),
    el("span", { class: "facts" }, str(v.endpoint)),
  ));
  const facts = [
    num(counts.tools) + " tools · " + num(counts.prompts) + " prompts · " + num(counts.resources) + " resources",
    backends ? "backends " + (backends.join(", ") || "none") : "all backends",
    "owner " + str(v.owner, "–"),
  ];
  const scopes = arr(v.scopes).map((x) => str(x));
  const claims = arr(v.claims).map((x) => str(x));
  if (scopes.length) facts.push("scopes " + scopes.join(" "));
  if (claims.length) facts.push("claims " + claims.join(", "));
  card.append(el("div", { class: "facts" }, facts.join("  ·  ")));
  if (missing.length) card.append(el("div", { class: "lost", role: "alert" }, (missing.length === 1
    ? "missing backend (not registered, so it contributes nothing): "
    : "missing backends (not registered, so they contribute nothing): ") + missing.join(", ")));
  return card;
}

function render(s) {
  const backends = arr(s.backends);
  const sessions = obj(obj(s.sessions).sessionful);
  const collisions = arr(s.collisions);
  document.getElementById("version").textContent = "v" + str(s.version, "?");
  document.getElementById("uptime").textContent = "up " + duration(num(s.uptimeSeconds));
  document.getElementById("readiness").textContent = s.draining ? "draining" : s.ready ? "ready" : "starting";
  const by = (st) => backends.filter((b) => obj(b).state === st).length;
  const totals = document.getElementById("totals");
  const sessionText = Object.entries(sessions).map(([k, v]) => k + " " + num(v)).join(", ") || "none";
  totals.replaceChildren(
    el("div", { class: "total" }, el("b", {}, backends.length), el("span", {}, "backends")),
    el("div", { class: "total" }, el("b", {}, by("ready")), el("span", {}, "ready")),
    el("div", { class: "total" }, el("b", {}, by("failed")), el("span", {}, "failed")),
    el("div", { class: "total" }, el("b", {}, backends.reduce((n, b) => n + arr(obj(b).tools).length, 0)), el("span", {}, "tools")),
    el("div", { class: "total", title: "2026-07-28 clients are stateless: the proxy holds no session for them" },
      el("b", {}, Object.values(sessions).reduce((n, v) => n + num(v), 0)),
      el("span", {}, "2025-era sessions (" + sessionText + ")")),
  );
  const list = document.getElementById("backends");
  list.replaceChildren(...(backends.length ? backends.map((b) => backendCard(obj(b), collisions)) :
    [el("p", { class: "empty" }, "No backends yet. Add one with POST /mcp_servers.")]));
  const views = arr(s.virtualServers).map(obj);
  const viewSection = document.getElementById("virtual-servers");
  viewSection.replaceChildren(...(views.length ? [el("h2", {}, "Virtual servers"), ...views.map(virtualServerCard)] : []));
  const section = document.getElementById("collisions");
  section.replaceChildren();
  if (collisions.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "kind"), el("th", {}, "name"), el("th", {}, "kept by"), el("th", {}, "dropped from")));
    for (const c of collisions.map(obj)) table.append(el("tr", {}, el("td", {}, str(c.kind)), el("td", { class: "tool" }, str(c.exposed)), el("td", {}, str(c.keptBy)), el("td", {}, str(c.droppedFrom))));
    section.append(el("h2", {}, "Name collisions"), table);
  }
}

function banner(text) {
  const b = document.getElementById("banner");
  b.textContent = text;
  b.style.display = text ? "block" : "none";
}

async function poll() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  try {
    const res = await fetch(STATUS_URL, { headers: token ? { Authorization: "Bearer " + token } : {}, cache: "no-store" });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) {
      document.getElementById("token").style.display = "block";
      banner(str(obj(body).error, "the admin token is missing or wrong"));
    } else if (!res.ok) {
      banner("HTTP " + res.status + ": " + str(obj(body).error, res.statusText));
    } else {
      document.getElementById("token").style.display = "none";
      banner("");
      render(obj(body));
      lastOk = Date.now();
    }
  } catch (error) {
    banner("multi-mcp is not answering (" + (error && error.message ? error.message : error) + ")" +
      (lastOk ? "; last update " + duration((Date.now() - lastOk) / 1000) + " ago" : ""));
  }
  document.getElementById("updated").textContent = lastOk ? "updated " + new Date(lastOk).toLocaleTimeString() : "";
  setTimeout(poll, POLL_MS);
}

document.getElementById("token").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
});
poll();
`;

export function pageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>multi-mcp status</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header><div class="bar">
  <h1>multi-mcp</h1>
  <span class="meta" id="version"></span>
  <span class="meta" id="uptime"></span>
  <span class="meta" id="readiness"></span>
  <span class="meta" id="updated"></span>
</div></header>
<main>
  <div id="banner" role="status"></div>
  <form id="token" autocomplete="off"><span id="token-form-label">Admin token: </span><input id="token-input" type="password" aria-labelledby="token-form-label"> <button>Use</button></form>
  <div class="totals" id="totals"></div>
  <div id="backends"><p class="empty">Loading…</p></div>
  <div id="virtual-servers"></div>
  <div id="collisions"></div>
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>`;
}
