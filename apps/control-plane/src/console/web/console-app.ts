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

async function servicePage(namespace: string, name: string): Promise<void> {
  const s = await api<Json & { instances: Json[]; versions: string[]; health: { catalog: Record<string, number>; requests: string; errorRate: number; requestsPerSecond: number }; config: { kind: string; namespace: string; name: string; yaml: string }[]; traffic: { inbound: GraphEdge[]; outbound: GraphEdge[] } }>(`services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, { window: state.window });
  const short = (id: string): string => id.replace(/^(wl|svc|app):/, "");
  const edgeRows = (edges: GraphEdge[], end: "source" | "target") => edges.map((e) => [short(e[end]), rps(e.requestsPerSecond), pct(e.errorRate), e.p99Ms === null ? "-" : `${e.p99Ms.toFixed(1)} ms`, e.mtls ? "\u{1F512}" : "", h("span", { class: e.health }, e.health)]);
  main.replaceChildren(
    h("h2", {}, `${name}.${namespace}`),
    h("p", {}, "Requests: ", h("span", { class: s.health.requests, id: "service-health" }, s.health.requests), ` ${rps(s.health.requestsPerSecond)}, ${pct(s.health.errorRate)} errors; catalog: ${s.instances.length === 0 ? "no instances registered" : healthCounts(s.health.catalog)}; versions: ${s.versions.length === 0 ? "-" : s.versions.join(", ")}`),
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

async function identitiesPage(): Promise<void> {
  const body = await api<{ trustDomain: string; note?: string; identities: { proxy: string; spiffeId: string; expiresInSeconds: number | null }[] }>("identities");
  main.replaceChildren(
    h("h2", {}, `Identities (trust domain ${body.trustDomain})`),
    ...(body.note !== undefined ? [h("p", {}, body.note)] : []),
    table(["SPIFFE ID", "proxy", "SVID expires in"], body.identities.map((i) => [i.spiffeId, i.proxy, i.expiresInSeconds === null ? "-" : `${Math.round(i.expiresInSeconds / 60)} min`])),
  );
}

async function registryPage(): Promise<void> {
  const body = await api<{ leader: string; servers: { id: string; address: string; leader: boolean; voter: boolean }[]; catalogInstances: number; errors: string[] }>("registry");
  main.replaceChildren(
    h("h2", {}, "Registry"),
    h("p", {}, `Raft leader: ${body.leader === "" ? "unknown" : body.leader}; catalog instances: ${body.catalogInstances}`),
    table(["server", "address", "role"], body.servers.map((s) => [s.id, s.address, s.leader ? "leader" : s.voter ? "follower" : "non-voter"])),
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
