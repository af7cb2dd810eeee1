/// <reference lib="dom" />
// The console in the browser: a hash router over the pages, each rendered from one /console/api/*
// answer. The graph is Cytoscape.js (loaded by the page as a global from the control plane).
import type cytoscapeType from "cytoscape";

declare const cytoscape: typeof cytoscapeType;

type Json = Record<string, unknown>;
interface GraphNode { id: string; kind: string; namespace: string; name: string; app: string; version: string; parent?: string; health: string; requestsPerSecond: number; errorRate: number }
interface GraphEdge { id: string; source: string; target: string; requestsPerSecond: number; errorRate: number; p99Ms: number | null; mtls: boolean; mtlsShare: number | null; health: string }
interface Graph { nodes: GraphNode[]; edges: GraphEdge[]; namespaces: string[]; windowSeconds: number; source: string; errors: string[] }

const token = new URLSearchParams(location.search).get("token");
const main = document.getElementById("main") as HTMLElement;
const statusLine = document.getElementById("status") as HTMLElement;
const colours: Record<string, string> = { healthy: "#3e8635", degraded: "#f0ab00", failing: "#c9190b", idle: "#8a8d90" };
const state = { namespace: "", window: "300", refresh: "10" };
let timer: number | undefined;
let cy: cytoscapeType.Core | undefined;

async function api<T>(path: string, query: Record<string, string> = {}): Promise<T> {
  const params = new URLSearchParams(query);
  if (token !== null) params.set("token", token);
  const q = params.toString();
  const response = await fetch(`/console/api/${path}${q === "" ? "" : `?${q}`}`);
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

function table(headers: string[], rows: (Node | string)[][]): HTMLElement {
  return h("table", {}, h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", {}, x)))), h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))));
}

const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;
const rps = (x: number): string => `${x < 10 ? x.toFixed(2) : x.toFixed(0)} rps`;

function select(id: string, value: string, options: [string, string][], onChange: (v: string) => void): HTMLElement {
  const el = h("select", { id }, ...options.map(([v, label]) => h("option", v === value ? { value: v, selected: "" } : { value: v }, label))) as HTMLSelectElement;
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

function edgeLabel(e: GraphEdge): string {
  return `${rps(e.requestsPerSecond)} ${pct(e.errorRate)}${e.p99Ms === null ? "" : ` p99 ${e.p99Ms.toFixed(0)}ms`}${e.mtls ? " \u{1F512}" : ""}`;
}

async function graphPage(): Promise<void> {
  const container = h("div", { id: "graph" });
  const nsSelect = h("span");
  const edgeTable = h("div", { id: "edge-list" });
  const refreshNow = h("button", { id: "refresh" }, "Refresh");
  main.replaceChildren(
    h(
      "div",
      { class: "toolbar" },
      h("label", {}, "Namespace ", nsSelect),
      h("label", {}, "Window ", select("window", state.window, [["60", "1m"], ["300", "5m"], ["600", "10m"], ["1800", "30m"], ["3600", "1h"]], (v) => ((state.window = v), void draw()))),
      h("label", {}, "Refresh ", select("refresh-every", state.refresh, [["0", "off"], ["5", "5s"], ["10", "10s"], ["30", "30s"]], (v) => ((state.refresh = v), schedule()))),
      refreshNow,
      h("span", { class: "legend" }, ...Object.entries(colours).map(([k, c]) => h("span", {}, h("span", { class: "dot", style: `background:${c}` }), ` ${k}`))),
    ),
    container,
    edgeTable,
  );
  refreshNow.addEventListener("click", () => void draw());
  cy = cytoscape({
    container,
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 11, "text-valign": "bottom", "text-margin-y": 4, "background-color": "data(colour)", "border-width": 2, "border-color": "#fff", width: 28, height: 28 } },
      { selector: 'node[kind = "service"]', style: { shape: "triangle" } },
      { selector: 'node[kind = "unknown"]', style: { shape: "diamond" } },
      { selector: 'node[kind = "app"]', style: { shape: "round-rectangle", "background-color": "#f5f5f5", "border-color": "#8a8d90", "border-style": "dashed", "border-width": 1, "text-valign": "top", "text-margin-y": -4 } },
      { selector: "edge", style: { label: "data(label)", "font-size": 9, "curve-style": "bezier", "target-arrow-shape": "triangle", width: "data(width)", "line-color": "data(colour)", "target-arrow-color": "data(colour)", "text-background-color": "#fff", "text-background-opacity": 0.8, "text-rotation": "autorotate" } },
    ],
  });
  // For browser tests and debugging from the devtools console.
  (window as unknown as { meshworkGraph?: cytoscapeType.Core }).meshworkGraph = cy;
  cy.on("tap", "node", (event) => {
    const node = event.target.data() as GraphNode;
    if (node.kind === "service") location.hash = `#/service/${node.namespace}/${node.name}`;
    else if (node.kind !== "unknown") location.hash = `#/service/${node.namespace}/${node.app}`;
  });

  async function draw(): Promise<void> {
    const graph = await api<Graph>("graph", { window: state.window, ...(state.namespace === "" ? {} : { namespace: state.namespace }) });
    nsSelect.replaceChildren(select("namespace", state.namespace, [["", "all"], ...graph.namespaces.map((n): [string, string] => [n, n])], (v) => ((state.namespace = v), void draw())));
    const elements: cytoscapeType.ElementDefinition[] = [
      ...graph.nodes.map((n) => ({ group: "nodes" as const, data: { ...n, label: n.kind === "workload" ? `${n.name}${n.version !== "unknown" ? ` (${n.version})` : ""}` : n.name, colour: colours[n.health] ?? colours["idle"] } })),
      ...graph.edges.map((e) => ({ group: "edges" as const, data: { ...e, label: edgeLabel(e), colour: colours[e.health] ?? colours["idle"], width: Math.min(8, 1 + Math.log10(1 + e.requestsPerSecond) * 3) } })),
    ];
    if (cy === undefined) return;
    cy.elements().remove();
    cy.add(elements);
    cy.layout({ name: "breadthfirst", directed: true, spacingFactor: 1.2, animate: false } as cytoscapeType.LayoutOptions).run();
    container.dataset["nodes"] = String(graph.nodes.length);
    container.dataset["edges"] = String(graph.edges.length);
    const nodeName = (id: string): string => graph.nodes.find((n) => n.id === id)?.name ?? id;
    edgeTable.replaceChildren(
      table(
        ["from", "to", "rate", "errors", "p99", "mTLS", "health"],
        graph.edges.map((e) => [nodeName(e.source), nodeName(e.target), rps(e.requestsPerSecond), pct(e.errorRate), e.p99Ms === null ? "-" : `${e.p99Ms.toFixed(1)} ms`, e.mtls ? "\u{1F512} yes" : e.mtlsShare === null ? "?" : e.mtlsShare === 0 ? "no" : pct(e.mtlsShare), h("span", { class: e.health }, e.health)]),
      ),
    );
    edgeTable.querySelectorAll("tbody tr").forEach((row, i) => {
      const e = graph.edges[i];
      if (e === undefined || !(row instanceof HTMLElement)) return;
      row.dataset["source"] = e.source;
      row.dataset["target"] = e.target;
      row.dataset["health"] = e.health;
    });
    statusLine.textContent = `${graph.source}; ${graph.errors.length > 0 ? `${graph.errors.length} error(s): ${graph.errors[0] ?? ""}` : `updated ${new Date().toLocaleTimeString()}`}`;
  }
  function schedule(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    const seconds = Number(state.refresh);
    if (seconds > 0) timer = window.setInterval(() => void draw().catch(showError), seconds * 1000);
  }
  await draw();
  schedule();
}

async function servicesPage(): Promise<void> {
  const body = await api<{ services: { namespace: string; name: string; instances: number; versions: string[]; health: Record<string, number> }[] }>("services");
  main.replaceChildren(h("h2", {}, "Services"), table(["namespace", "service", "instances", "versions", "health"], body.services.map((s) => [s.namespace, h("a", { href: `#/service/${s.namespace}/${s.name}` }, s.name), String(s.instances), s.versions.join(", "), healthCounts(s.health)])));
}

function healthCounts(counts: Record<string, number>): string {
  return Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
}

interface ServicePoint { endMs: number; requestsPerSecond: number; errorRate: number | null; p99Ms: number | null }

async function servicePage(namespace: string, name: string): Promise<void> {
  const s = await api<Json & { instances: Json[]; versions: string[]; health: { catalog: Record<string, number>; requests: string; errorRate: number; requestsPerSecond: number }; config: { kind: string; namespace: string; name: string; yaml: string }[]; traffic: { inbound: GraphEdge[]; outbound: GraphEdge[]; source: string }; series: { stepSeconds: number; points: ServicePoint[]; errors: string[] } }>(`services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, { window: state.window });
  const short = (id: string): string => id.replace(/^(wl|svc|app):/, "");
  const edgeRows = (edges: GraphEdge[], end: "source" | "target") => edges.map((e) => [short(e[end]), rps(e.requestsPerSecond), pct(e.errorRate), e.p99Ms === null ? "-" : `${e.p99Ms.toFixed(1)} ms`, e.mtls ? "\u{1F512}" : "", h("span", { class: e.health }, e.health)]);
  main.replaceChildren(
    h("h2", {}, `${name}.${namespace}`),
    h("p", {}, "Requests: ", h("span", { class: s.health.requests, id: "service-health" }, s.health.requests), ` ${rps(s.health.requestsPerSecond)}, ${pct(s.health.errorRate)} errors; catalog: ${s.instances.length === 0 ? "no instances registered" : healthCounts(s.health.catalog)}; versions: ${s.versions.length === 0 ? "-" : s.versions.join(", ")}`),
    h(
      "div",
      { class: "toolbar" },
      h("h3", {}, "Request metrics"),
      h("label", {}, "Window ", select("window", state.window, [["60", "1m"], ["300", "5m"], ["600", "10m"], ["1800", "30m"], ["3600", "1h"]], (v) => ((state.window = v), void route()))),
      h("span", { class: "idle" }, `${s.traffic.source}; a point per ${s.series.stepSeconds} s`),
    ),
    h(
      "div",
      { class: "charts", id: "service-charts" },
      lineChart("chart-rate", "Request rate", s.series.points.map((p) => ({ t: p.endMs, v: p.requestsPerSecond })), rps, "#0066cc"),
      lineChart("chart-errors", "Errors (5xx)", s.series.points.map((p) => ({ t: p.endMs, v: p.errorRate === null ? null : p.errorRate })), pct, "#c9190b"),
      lineChart("chart-p99", "p99 latency", s.series.points.map((p) => ({ t: p.endMs, v: p.p99Ms })), (x) => `${x.toFixed(x < 10 ? 1 : 0)} ms`, "#5752d1"),
    ),
    ...s.series.errors.map((e) => h("p", { class: "error" }, e)),
    h("h3", {}, "Instances"),
    table(["id", "address", "version", "health"], s.instances.map((i) => [String(i["id"]), `${String(i["address"])}:${String(i["port"])}`, String(i["version"]), h("span", { class: i["health"] === "passing" ? "healthy" : "failing" }, String(i["health"]))])),
    h("h3", {}, "Inbound traffic"),
    table(["from", "rate", "errors", "p99", "mTLS", "health"], edgeRows(s.traffic.inbound, "source")),
    h("h3", {}, "To workloads"),
    barChart(s.traffic.outbound.map((e) => ({ label: short(e.target), value: e.requestsPerSecond, colour: colours[e.health] ?? "#8a8d90", note: `${rps(e.requestsPerSecond)}, ${pct(e.errorRate)} errors` }))),
    table(["to", "rate", "errors", "p99", "mTLS", "health"], edgeRows(s.traffic.outbound, "target")),
    h("h3", {}, "Config that applies"),
    ...s.config.map((c) => h("details", {}, h("summary", {}, `${c.kind} ${c.namespace}/${c.name}`), h("pre", {}, c.yaml))),
  );
}

const svgNs = "http://www.w3.org/2000/svg";

function svgEl(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * A time series as an SVG line (gaps where a step has no value), y from 0 to the largest value,
 * the latest value in the title, a dot per point with its value as tooltip.
 */
function lineChart(id: string, title: string, points: { t: number; v: number | null }[], format: (x: number) => string, colour: string): Element {
  const [width, height, left, right, top, bottom] = [340, 150, 56, 8, 22, 20];
  const svg = svgEl("svg", { id, class: "chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const values = points.flatMap((p) => (p.v === null ? [] : [p.v]));
  const latest = [...points].reverse().find((p) => p.v !== null)?.v ?? null;
  svg.dataset["points"] = String(points.length);
  svg.dataset["values"] = String(values.length);
  svg.append(svgEl("text", { x: 0, y: 14, "font-size": 12, "font-weight": "bold" }, `${title}: ${latest === null ? "no requests" : format(latest)}`));
  const first = points[0]?.t ?? 0;
  const last = points.at(-1)?.t ?? first + 1;
  const max = values.length === 0 ? 1 : Math.max(...values) || 1;
  const x = (t: number): number => left + ((t - first) / Math.max(1, last - first)) * (width - left - right);
  const y = (v: number): number => top + (1 - v / max) * (height - top - bottom);
  svg.append(
    svgEl("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: "#d2d2d2" }),
    svgEl("line", { x1: left, y1: y(max), x2: width - right, y2: y(max), stroke: "#f0f0f0" }),
    svgEl("text", { x: left - 4, y: y(max) + 4, "font-size": 10, "text-anchor": "end" }, values.length === 0 ? "" : format(max)),
    svgEl("text", { x: left - 4, y: y(0) + 4, "font-size": 10, "text-anchor": "end" }, "0"),
    svgEl("text", { x: left, y: height - 4, "font-size": 10 }, new Date(first).toLocaleTimeString()),
    svgEl("text", { x: width - right, y: height - 4, "font-size": 10, "text-anchor": "end" }, new Date(last).toLocaleTimeString()),
  );
  let d = "";
  let pen = false;
  for (const p of points) {
    if (p.v === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
    pen = true;
    const dot = svgEl("circle", { cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2, fill: colour });
    dot.append(svgEl("title", {}, `${new Date(p.t).toLocaleTimeString()}: ${format(p.v)}`));
    svg.append(dot);
  }
  if (d !== "") svg.append(svgEl("path", { d, fill: "none", stroke: colour, "stroke-width": 1.5, class: "series" }));
  return svg;
}

/** Horizontal bars (SVG), one per row, scaled to the largest value. */
function barChart(rows: { label: string; value: number; colour: string; note: string }[]): Element {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const rowHeight = 22;
  svg.setAttribute("width", "560");
  svg.setAttribute("height", String(rows.length * rowHeight + 4));
  svg.setAttribute("class", "chart");
  const max = Math.max(...rows.map((r) => r.value), Number.MIN_VALUE);
  rows.forEach((row, i) => {
    const y = i * rowHeight + 2;
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", "0");
    text.setAttribute("y", String(y + 15));
    text.setAttribute("font-size", "12");
    text.textContent = row.label;
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", "160");
    bar.setAttribute("y", String(y + 3));
    bar.setAttribute("height", "14");
    bar.setAttribute("width", String(Math.max(1, (row.value / max) * 240)));
    bar.setAttribute("fill", row.colour);
    const note = document.createElementNS(ns, "text");
    note.setAttribute("x", "410");
    note.setAttribute("y", String(y + 15));
    note.setAttribute("font-size", "12");
    note.textContent = row.note;
    svg.append(text, bar, note);
  });
  return svg;
}

async function proxiesPage(): Promise<void> {
  const body = await api<{ proxies: { proxy: string; kind: string; namespace: string; workload: string; state: string; types: Record<string, { state: string; sent: string; acked: string; error?: string }> }[] }>("proxies");
  main.replaceChildren(
    h("h2", {}, "Proxy status"),
    table(
      ["proxy", "kind", "namespace", "workload", "state", "per type"],
      body.proxies.map((p) => [p.proxy, p.kind, p.namespace, p.workload, h("span", { class: p.state }, p.state), Object.entries(p.types).map(([t, s]) => `${t}: ${s.state}${s.error !== undefined ? ` (${s.error})` : ""}`).join("; ")]),
    ),
  );
}

async function configPage(): Promise<void> {
  const body = await api<{ revision: string; resources: { kind: string; namespace: string; name: string; findings: { severity: string; message: string }[]; yaml: string }[]; rejected: { key: string; errors: string[] }[]; findings: { severity: string; message: string }[] }>("config");
  main.replaceChildren(
    h("h2", {}, `Config (revision ${body.revision})`),
    ...(body.rejected.length > 0 ? [h("h3", { class: "error" }, "Rejected"), ...body.rejected.map((r) => h("pre", { class: "error" }, `${r.key}\n${r.errors.join("\n")}`))] : []),
    table(
      ["kind", "namespace", "name", "findings", "YAML"],
      body.resources.map((r) => [r.kind, r.namespace, r.name, r.findings.length === 0 ? "ok" : h("span", { class: r.findings.some((f) => f.severity === "error") ? "failing" : "degraded" }, r.findings.map((f) => f.message).join("\n")), h("details", {}, h("summary", {}, "show"), h("pre", {}, r.yaml))]),
    ),
    ...(body.findings.length > 0 ? [h("h3", {}, "Other findings"), h("pre", {}, body.findings.map((f) => f.message).join("\n"))] : []),
  );
}

const svidClass: Record<string, string> = { valid: "healthy", expiring: "degraded", expired: "failing", "not-yet-valid": "failing", unknown: "idle" };

function duration(seconds: number): string {
  const s = Math.abs(seconds);
  const text = s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86_400).toFixed(1)} d`;
  return seconds < 0 ? `${text} ago` : `in ${text}`;
}

async function identitiesPage(): Promise<void> {
  const body = await api<{ trustDomain: string; note?: string; errors?: string[]; expiringWithinSeconds: number; counts: Record<string, number>; identities: { proxy: string; workload: string; namespace: string; controlPlane?: string; spiffeId: string; state: string; serial: string | null; notBeforeMs: number | null; notAfterMs: number | null; expiresInSeconds: number | null }[] }>("identities");
  const when = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString().replace(".000Z", "Z"));
  const rows = body.identities.map((i) => [
    i.spiffeId,
    i.proxy,
    i.serial ?? "-",
    when(i.notBeforeMs),
    when(i.notAfterMs),
    i.expiresInSeconds === null ? "-" : duration(i.expiresInSeconds),
    h("span", { class: `${svidClass[i.state] ?? "idle"} svid-state` }, i.state),
    i.controlPlane ?? "-",
  ]);
  const t = table(["SPIFFE ID", "proxy", "serial", "not before", "not after", "expires", "state", "control plane"], rows);
  t.id = "identities";
  t.querySelectorAll("tbody tr").forEach((row, n) => {
    const i = body.identities[n];
    if (i !== undefined && row instanceof HTMLElement) row.dataset["state"] = i.state;
  });
  main.replaceChildren(
    h("h2", {}, `Identities (trust domain ${body.trustDomain})`),
    h("p", {}, `SVIDs the proxies report on the discovery stream; expiring: within ${Math.round(body.expiringWithinSeconds / 60)} min. `, healthCounts(body.counts)),
    ...(body.note !== undefined ? [h("p", {}, body.note)] : []),
    ...(body.errors ?? []).map((e) => h("p", { class: "error" }, e)),
    t,
  );
}

const gossipClass: Record<string, string> = { alive: "healthy", leaving: "degraded", left: "idle", failed: "failing" };

async function registryPage(): Promise<void> {
  const body = await api<{ leader: string; servers: { id: string; address: string; leader: boolean; voter: boolean }[]; members: { name: string; address: string; status: string; role: string; datacenter: string; protocol: number }[]; catalogInstances: number; errors: string[] }>("registry");
  const gossip = table(["member", "address", "status", "role", "datacenter", "protocol"], body.members.map((m) => [m.name, m.address, h("span", { class: gossipClass[m.status] ?? "idle" }, m.status), m.role, m.datacenter, String(m.protocol)]));
  gossip.id = "gossip-members";
  main.replaceChildren(
    h("h2", {}, "Registry"),
    h("p", {}, `Raft leader: ${body.leader === "" ? "unknown" : body.leader}; catalog instances: ${body.catalogInstances}`),
    h(
      "div",
      { class: "columns" },
      h("section", {}, h("h3", {}, "Raft"), table(["server", "address", "role"], body.servers.map((s) => [s.id, s.address, s.leader ? "leader" : s.voter ? "follower" : "non-voter"]))),
      h("section", {}, h("h3", {}, "Gossip members"), body.members.length === 0 ? h("p", { class: "idle" }, "no gossip members (gossip is off, or the registry was not reachable)") : gossip),
    ),
    ...body.errors.map((e) => h("p", { class: "error" }, e)),
  );
}

function showError(error: unknown): void {
  main.append(h("p", { class: "error", id: "error" }, error instanceof Error ? error.message : String(error)));
}

async function route(): Promise<void> {
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  cy?.destroy();
  cy = undefined;
  const [page = "graph", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${page}`);
  main.replaceChildren();
  try {
    if (page === "services") await servicesPage();
    else if (page === "service") await servicePage(decodeURIComponent(rest[0] ?? ""), decodeURIComponent(rest[1] ?? ""));
    else if (page === "proxies") await proxiesPage();
    else if (page === "config") await configPage();
    else if (page === "identities") await identitiesPage();
    else if (page === "registry") await registryPage();
    else await graphPage();
  } catch (error) {
    showError(error);
  }
}

window.addEventListener("hashchange", () => void route());
void route();
