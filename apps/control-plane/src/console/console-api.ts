// The console's read-only JSON API (/console/api/*): the service graph, services (with request
// metrics per step for the charts), proxy status, config with validation findings, identities
// (the SVIDs proxies report) and the registry's Raft state and gossip members. Each function
// answers one page from what the control plane already holds (config store, discovery server)
// plus the traffic source and the registry's HTTP API. /console/api/reports answers this replica's
// own proxy reports to the other replicas (--console-peers), whose consoles merge them.
import { formatIssue, type ConfigIssue, type MeshResource } from "@meshwork/config";
import type { CatalogInstance } from "@meshwork/proxy-core";
import { stringify } from "yaml";
import type { ConfigStore } from "../config-store/config-store.ts";
import type { DiscoveryServer } from "../push/discovery-server.ts";
import { buildTrafficGraph, healthOf, isErrorCode, type GraphEdge, type TrafficGraph } from "./traffic-graph.ts";
import { encodeReports, latestSvids, type PeerReports, type ReportedProxy, type ReportsBody } from "./peer-reports.ts";
import type { ProxyReports, ReportedSvid } from "./proxy-reports.ts";
import { seriesStep } from "./traffic-history.ts";
import type { TrafficSource } from "./traffic-source.ts";

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface ConsoleDeps {
  readonly store: ConfigStore;
  readonly discovery: DiscoveryServer;
  readonly traffic: TrafficSource;
  /** Registry servers' HTTP API (http://HOST:PORT), for the registry page; empty: not shown. */
  readonly registryHttp: readonly string[];
  readonly fetch: Fetch;
  readonly now: () => number;
  readonly controlPlaneId: string;
  readonly trustDomain: string;
  readonly domainSuffix: string;
  /** The SVID a proxy last reported on the discovery stream; undefined when it did not (no report, no mTLS). */
  readonly svidOf?: (proxyId: string) => ReportedSvid | undefined;
  /** What this replica's proxies report (served to the other replicas at /console/api/reports). */
  readonly reports?: ProxyReports;
  /** The other replicas' reports (--console-peers): their proxies and SVIDs join the identities page. */
  readonly peers?: PeerReports;
}

/** The window values the console offers (seconds); anything else is refused with this list. */
export const WINDOWS = [60, 300, 600, 1800, 3600] as const;

export class ConsoleInputError extends Error {}

export function parseWindow(value: string | null): number {
  if (value === null || value === "") return 300;
  const seconds = Number(value);
  if (!(WINDOWS as readonly number[]).includes(seconds)) throw new ConsoleInputError(`?window=${value} is not offered; use one of ${WINDOWS.join(", ")} (seconds)`);
  return seconds;
}

export function parseNamespaces(value: string | null): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

export async function graphPage(deps: ConsoleDeps, windowSeconds: number, namespaces: readonly string[]): Promise<TrafficGraph & { readonly source: string; readonly errors: readonly string[]; readonly generatedAtMs: number }> {
  const reading = await deps.traffic.read(windowSeconds);
  const graph = buildTrafficGraph(reading, { namespaces });
  return { ...graph, source: deps.traffic.describe(), errors: reading.errors, generatedAtMs: deps.now() };
}

export function overviewPage(deps: ConsoleDeps) {
  const proxies = deps.discovery.status();
  const states: Record<string, number> = { SYNCED: 0, STALE: 0, NACKED: 0 };
  for (const p of proxies) states[p.state] = (states[p.state] ?? 0) + 1;
  return {
    controlPlane: deps.controlPlaneId,
    ready: deps.store.isReady,
    revision: deps.store.snapshot.revision,
    resources: deps.store.snapshot.resources.length,
    rejectedConfig: deps.store.admission.rejected.length,
    services: servicesPage(deps).services.length,
    proxies: { connected: proxies.length, ...states },
    trafficSource: deps.traffic.describe(),
  };
}

const namespaceOf = (i: CatalogInstance, fallback: string): string => i.meta["namespace"] || fallback;

export function servicesPage(deps: ConsoleDeps) {
  const groups = new Map<string, CatalogInstance[]>();
  for (const instance of deps.store.catalog.instances) {
    const key = `${namespaceOf(instance, "default")}/${instance.serviceName}`;
    groups.set(key, [...(groups.get(key) ?? []), instance]);
  }
  const services = [...groups.entries()]
    .map(([key, instances]) => {
      const [namespace = "", name = ""] = key.split("/");
      return {
        namespace,
        name,
        instances: instances.length,
        versions: [...new Set(instances.map((i) => i.meta["version"] ?? "unknown"))].sort(),
        health: countBy(instances.map((i) => i.health)),
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { services };
}

/** Whether an Istio host (`reviews`, `reviews.default`, FQDN, `*.suffix`, `*`) written in `namespace` names `fqdn`. */
export function hostMatches(host: string, namespace: string, fqdn: string, domainSuffix: string): boolean {
  if (host === "*") return true;
  if (host.startsWith("*.")) return fqdn.endsWith(host.slice(1));
  const parts = host.split(".");
  const full = parts.length === 1 ? `${host}.${namespace}.svc.${domainSuffix}` : parts.length === 2 ? `${host}.svc.${domainSuffix}` : host;
  return full === fqdn;
}

function hostsOf(r: MeshResource): readonly string[] {
  const spec = r.spec as { hosts?: readonly string[]; host?: string };
  if (r.kind === "DestinationRule") return spec.host === undefined ? [] : [spec.host];
  return spec.hosts ?? [];
}

export async function servicePage(deps: ConsoleDeps, namespace: string, name: string, windowSeconds: number) {
  const instances = deps.store.catalog.instances.filter((i) => i.serviceName === name && namespaceOf(i, "default") === namespace);
  const fqdn = `${name}.${namespace}.svc.${deps.domainSuffix}`;
  const config = deps.store.snapshot.resources
    .filter((r) => (r.kind === "VirtualService" || r.kind === "DestinationRule" || r.kind === "ServiceEntry") && hostsOf(r).some((h) => hostMatches(h, r.metadata.namespace ?? namespace, fqdn, deps.domainSuffix)))
    .map((r) => ({ kind: r.kind, namespace: r.metadata.namespace ?? "", name: r.metadata.name, yaml: yamlOf(r) }));
  const graph = await graphPage(deps, windowSeconds, []);
  const serviceId = `svc:${namespace}/${name}`;
  const inbound = graph.edges.filter((e) => e.target === serviceId);
  const outbound = graph.edges.filter((e) => e.source === serviceId);
  const requests = sumEdges(inbound, graph.windowSeconds);
  if (instances.length === 0 && config.length === 0 && inbound.length === 0) throw new ConsoleNotFound(`no service ${namespace}/${name} in the catalog, the config or the traffic; /console/api/services lists them`);
  const series = await serviceSeries(deps, serviceId, windowSeconds);
  return {
    namespace,
    name,
    host: fqdn,
    instances: instances.map((i) => ({ id: i.serviceId, node: i.node, address: i.address || i.nodeAddress, port: i.port, version: i.meta["version"] ?? "unknown", health: i.health, labels: i.meta })),
    versions: [...new Set(instances.map((i) => i.meta["version"] ?? "unknown"))].sort(),
    health: { catalog: countBy(instances.map((i) => i.health)), requests: requests.health, errorRate: requests.errorRate, requestsPerSecond: requests.requestsPerSecond },
    config,
    traffic: { windowSeconds: graph.windowSeconds, inbound, outbound, source: graph.source, errors: graph.errors },
    series,
  };
}

/** One step of a service's request metrics (the requests into its service node). */
export interface ServicePoint {
  /** The step's end (ms since the epoch). */
  readonly endMs: number;
  readonly requestsPerSecond: number;
  /** 0..1; null without requests. */
  readonly errorRate: number | null;
  /** The p99 of the step's durations in ms; null without requests or buckets. */
  readonly p99Ms: number | null;
}

/**
 * Request rate, error share and p99 into `serviceId` (`svc:NS/NAME`) per step over the window, from
 * the traffic source's history; each step goes through the graph, so it counts what the graph's
 * edges count (one reporter per flow).
 */
export async function serviceSeries(deps: ConsoleDeps, serviceId: string, windowSeconds: number): Promise<{ readonly stepSeconds: number; readonly points: readonly ServicePoint[]; readonly errors: readonly string[] }> {
  const stepSeconds = seriesStep(windowSeconds);
  const series = await deps.traffic.readSeries(windowSeconds, stepSeconds);
  const points = series.points.map((point): ServicePoint => {
    const graph = buildTrafficGraph(point);
    const inbound = graph.edges.filter((e) => e.target === serviceId);
    let total = 0;
    let errors = 0;
    let p99: number | null = null;
    let weight = 0;
    for (const e of inbound) {
      for (const [code, n] of Object.entries(e.responseCodes)) {
        total += n;
        if (isErrorCode(code)) errors += n;
      }
      // The busiest inbound edges dominate: the p99 of the largest flow, the worst among equals.
      const n = Object.values(e.responseCodes).reduce((a, b) => a + b, 0);
      if (e.p99Ms !== null && (n > weight || (n === weight && (p99 === null || e.p99Ms > p99)))) {
        p99 = e.p99Ms;
        weight = n;
      }
    }
    return { endMs: point.endMs, requestsPerSecond: total / stepSeconds, errorRate: total > 0 ? errors / total : null, p99Ms: total > 0 ? p99 : null };
  });
  return { stepSeconds, points, errors: series.errors };
}

export class ConsoleNotFound extends Error {}

function sumEdges(edges: readonly GraphEdge[], windowSeconds: number) {
  let total = 0;
  let errors = 0;
  for (const e of edges)
    for (const [code, n] of Object.entries(e.responseCodes)) {
      total += n;
      if (isErrorCode(code)) errors += n;
    }
  return { requestsPerSecond: total / windowSeconds, errorRate: total > 0 ? errors / total : 0, health: healthOf(total, errors) };
}

export function proxiesPage(deps: ConsoleDeps) {
  return {
    controlPlane: deps.controlPlaneId,
    proxies: deps.discovery
      .status()
      .map((s) => ({
        proxy: s.node.id,
        kind: s.node.kind,
        namespace: s.node.namespace,
        workload: s.node.workload,
        version: s.node.version,
        state: s.state,
        connectedAtMs: s.connectedAtMs,
        types: Object.fromEntries(Object.entries(s.types).map(([type, t]) => [type, { state: t.state, sent: t.sentVersion, acked: t.ackedVersion, ...(t.nackError !== undefined ? { error: t.nackError } : {}) }])),
      }))
      .sort((a, b) => a.proxy.localeCompare(b.proxy)),
  };
}

function yamlOf(r: MeshResource): string {
  const { source: _source, ...rest } = r;
  return stringify(rest);
}

function sameResource(issue: ConfigIssue, r: MeshResource): boolean {
  return issue.resource !== undefined && issue.resource.kind === r.kind && issue.resource.name === r.metadata.name && (issue.resource.namespace ?? r.metadata.namespace) === r.metadata.namespace;
}

export function configPage(deps: ConsoleDeps) {
  const analysis = deps.store.analysis();
  const entries = [...deps.store.admission.accepted.values()];
  const resources = deps.store.snapshot.resources.map((r) => {
    const entry = entries.find((e) => e.resources.includes(r));
    const findings = analysis.filter((i) => sameResource(i, r));
    return {
      kind: r.kind,
      apiVersion: r.apiVersion,
      namespace: r.metadata.namespace ?? "",
      name: r.metadata.name,
      source: entry === undefined ? undefined : { source: entry.source, key: entry.key },
      findings: findings.map((i) => ({ severity: i.severity, code: i.code, message: formatIssue(i) })),
      // As written when the entry holds this resource only; else re-serialized from the decoded resource.
      yaml: entry !== undefined && entry.resources.length === 1 ? entry.text : yamlOf(r),
    };
  });
  const unattached = analysis.filter((i) => !deps.store.snapshot.resources.some((r) => sameResource(i, r)));
  return {
    revision: deps.store.snapshot.revision,
    resources,
    rejected: deps.store.admission.rejected.map((r) => ({ source: r.source, key: r.key, keptLastGood: r.keptLastGood, errors: r.issues.map(formatIssue) })),
    findings: unattached.map((i) => ({ severity: i.severity, code: i.code, message: formatIssue(i) })),
  };
}

/** An SVID expiring within this is flagged on the identities page. */
export const SVID_EXPIRING_MS = 3_600_000;

/** `expired` past notAfter, `expiring` within SVID_EXPIRING_MS of it, `not-yet-valid` before notBefore, `unknown` unreported. */
export type SvidState = "valid" | "expiring" | "expired" | "not-yet-valid" | "unknown";

export function svidState(svid: Pick<ReportedSvid, "notBeforeMs" | "notAfterMs"> | undefined, nowMs: number): SvidState {
  if (svid === undefined) return "unknown";
  if (nowMs >= svid.notAfterMs) return "expired";
  if (nowMs < svid.notBeforeMs) return "not-yet-valid";
  return svid.notAfterMs - nowMs <= SVID_EXPIRING_MS ? "expiring" : "valid";
}

/** The proxies streaming to this replica, as the identities page and the other replicas see them. */
function localProxies(deps: ConsoleDeps): ReportedProxy[] {
  return deps.discovery.status().map((s) => ({ proxy: s.node.id, workload: s.node.workload, namespace: s.node.namespace, serviceAccount: s.node.serviceAccount, controlPlane: deps.controlPlaneId, connectedAtMs: s.connectedAtMs }));
}

/**
 * The SVID of every proxy streaming to this replica and, with --console-peers, to the other
 * replicas (a proxy two replicas list — it moved — once, at the one it connected to last; its SVID
 * the one reported last, wherever).
 */
export async function identitiesPage(deps: ConsoleDeps) {
  const errors = deps.peers === undefined ? [] : await deps.peers.refresh();
  const now = deps.now();
  const proxies = new Map<string, ReportedProxy>();
  for (const p of [...localProxies(deps), ...(deps.peers?.proxies() ?? [])]) {
    const held = proxies.get(p.proxy);
    if (held === undefined || p.connectedAtMs > held.connectedAtMs) proxies.set(p.proxy, p);
  }
  const peerSvids = deps.peers === undefined ? undefined : latestSvids(deps.peers.svids());
  const svidOf = (proxyId: string): ReportedSvid | undefined => {
    const local = deps.svidOf?.(proxyId);
    const peer = peerSvids?.get(proxyId);
    return local === undefined || (peer !== undefined && peer.reportedAtMs > local.reportedAtMs) ? peer : local;
  };
  const identities = [...proxies.values()]
    .map((p) => {
      const svid = svidOf(p.proxy);
      return {
        proxy: p.proxy,
        workload: p.workload,
        namespace: p.namespace,
        controlPlane: p.controlPlane,
        spiffeId: svid?.spiffeId ?? `spiffe://${deps.trustDomain}/ns/${p.namespace}/sa/${p.serviceAccount}`,
        state: svidState(svid, now),
        serial: svid?.serial ?? null,
        notBeforeMs: svid?.notBeforeMs ?? null,
        notAfterMs: svid?.notAfterMs ?? null,
        expiresInSeconds: svid === undefined ? null : Math.round((svid.notAfterMs - now) / 1000),
        reportedAtMs: svid?.reportedAtMs ?? null,
      };
    })
    .sort((a, b) => a.spiffeId.localeCompare(b.spiffeId) || a.proxy.localeCompare(b.proxy));
  const unknown = identities.filter((i) => i.state === "unknown").length;
  return {
    trustDomain: deps.trustDomain,
    expiringWithinSeconds: SVID_EXPIRING_MS / 1000,
    identities,
    counts: countBy(identities.map((i) => i.state)),
    note: unknown > 0 ? `${unknown} proxy(ies) reported no SVID (no mutual TLS, or not reporting yet: reports come every few seconds)` : undefined,
    errors: [...errors],
  };
}

/** ?sinceMs= of /console/api/reports: ms since the epoch on the answering replica's clock; absent: all it keeps. */
export function parseSinceMs(value: string | null): number {
  if (value === null || value === "") return 0;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ConsoleInputError(`?sinceMs=${value} is not a time; give milliseconds since the epoch (an integer ≥ 0), e.g. the nowMs of the previous answer`);
  return ms;
}

/**
 * This replica's own reports received after `sinceMs` and its proxies' SVIDs, for the other
 * replicas' consoles (--console-peers); never what it fetched from its peers.
 */
export function reportsPage(deps: ConsoleDeps, sinceMs: number): ReportsBody {
  const reports = deps.reports;
  if (reports === undefined) throw new ConsoleNotFound("this control plane keeps no proxy reports");
  return encodeReports({
    controlPlane: deps.controlPlaneId,
    nowMs: deps.now(),
    sinceMs,
    deltas: reports.deltasSince(sinceMs),
    svids: reports.svids,
    proxies: localProxies(deps),
    reporters: [...reports.reporters.keys()],
  });
}

interface RaftServer {
  readonly ID?: string;
  readonly Node?: string;
  readonly Address?: string;
  readonly Leader?: boolean;
  readonly Voter?: boolean;
}

/** Consul's api.AgentMember (what the registry's /v1/agent/members answers). */
interface AgentMember {
  readonly Name?: string;
  readonly Addr?: string;
  readonly Port?: number;
  readonly Tags?: Readonly<Record<string, string>>;
  readonly Status?: number;
  readonly ProtocolCur?: number;
}

/** serf.MemberStatus as Consul's UI names it (a suspect member still reads alive, as in Consul). */
export const GOSSIP_STATUS: Readonly<Record<number, string>> = { 0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed" };

export function gossipMembers(members: readonly AgentMember[]) {
  return members
    .map((m) => ({
      name: m.Name ?? "",
      address: m.Addr === undefined ? "" : `${m.Addr.includes(":") ? `[${m.Addr}]` : m.Addr}:${m.Port ?? 0}`,
      status: GOSSIP_STATUS[m.Status ?? 0] ?? `status ${String(m.Status)}`,
      role: m.Tags?.["role"] ?? "",
      datacenter: m.Tags?.["dc"] ?? "",
      protocol: m.ProtocolCur ?? 0,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function registryPage(deps: ConsoleDeps) {
  const errors: string[] = [];
  for (const base of deps.registryHttp) {
    try {
      const root = base.replace(/\/+$/, "");
      const [configuration, leader] = await Promise.all([
        deps.fetch(`${root}/v1/operator/raft/configuration`, { signal: AbortSignal.timeout(3000) }).then(json),
        deps.fetch(`${root}/v1/status/leader`, { signal: AbortSignal.timeout(3000) }).then(json),
      ]);
      const servers = ((configuration as { Servers?: RaftServer[] }).Servers ?? []).map((s) => ({ id: s.ID ?? s.Node ?? "", address: s.Address ?? "", leader: s.Leader === true, voter: s.Voter !== false }));
      // Gossip is optional on a registry server: without it the list holds that server alone.
      const members = await deps
        .fetch(`${root}/v1/agent/members`, { signal: AbortSignal.timeout(3000) })
        .then(json)
        .then((body) => gossipMembers(Array.isArray(body) ? (body as AgentMember[]) : []))
        .catch((error: unknown) => {
          errors.push(`${root}/v1/agent/members: ${error instanceof Error ? error.message : String(error)}`);
          return [];
        });
      return { asked: base, leader: typeof leader === "string" ? leader : "", servers, members, catalogInstances: deps.store.catalog.instances.length, errors };
    } catch (error) {
      errors.push(`${base}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    asked: undefined,
    leader: "",
    servers: [],
    members: [],
    catalogInstances: deps.store.catalog.instances.length,
    errors: deps.registryHttp.length === 0 ? ["the control plane runs without --registry-http, so it cannot ask the registry"] : errors,
  };
}

async function json(response: Response): Promise<unknown> {
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${response.url}`);
  return response.json();
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
