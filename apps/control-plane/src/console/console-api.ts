// The console's read-only JSON API (/console/api/*): the service graph, services, proxy status,
// config with validation findings, identities and the registry's Raft state. Each function
// answers one page from what the control plane already holds (config store, discovery server)
// plus the traffic source and the registry's HTTP API.
import { formatIssue, type ConfigIssue, type MeshResource } from "@meshwork/config";
import type { CatalogInstance } from "@meshwork/proxy-core";
import { stringify } from "yaml";
import type { ConfigStore } from "../config-store/config-store.ts";
import type { DiscoveryServer } from "../push/discovery-server.ts";
import { buildTrafficGraph, healthOf, isErrorCode, type GraphEdge, type TrafficGraph } from "./traffic-graph.ts";
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
  /** SVID validity per proxy id, when proxies report it (not yet: the identities page shows the SPIFFE IDs only). */
  readonly svidOf?: (proxyId: string) => { readonly notAfterMs: number; readonly serial?: string } | undefined;
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
  return {
    namespace,
    name,
    host: fqdn,
    instances: instances.map((i) => ({ id: i.serviceId, node: i.node, address: i.address || i.nodeAddress, port: i.port, version: i.meta["version"] ?? "unknown", health: i.health, labels: i.meta })),
    versions: [...new Set(instances.map((i) => i.meta["version"] ?? "unknown"))].sort(),
    health: { catalog: countBy(instances.map((i) => i.health)), requests: requests.health, errorRate: requests.errorRate, requestsPerSecond: requests.requestsPerSecond },
    config,
    traffic: { windowSeconds: graph.windowSeconds, inbound, outbound, source: graph.source, errors: graph.errors },
  };
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

export function identitiesPage(deps: ConsoleDeps) {
  const now = deps.now();
  return {
    trustDomain: deps.trustDomain,
    identities: deps.discovery
      .status()
      .map((s) => {
        const svid = deps.svidOf?.(s.node.id);
        return {
          proxy: s.node.id,
          workload: s.node.workload,
          namespace: s.node.namespace,
          spiffeId: `spiffe://${deps.trustDomain}/ns/${s.node.namespace}/sa/${s.node.serviceAccount}`,
          ...(svid !== undefined ? { notAfterMs: svid.notAfterMs, expiresInSeconds: Math.round((svid.notAfterMs - now) / 1000) } : { notAfterMs: null, expiresInSeconds: null }),
        };
      })
      .sort((a, b) => a.spiffeId.localeCompare(b.spiffeId) || a.proxy.localeCompare(b.proxy)),
    note: deps.svidOf === undefined ? "SVID expiry is not reported to the control plane yet; each proxy's /certs admin page shows it" : undefined,
  };
}

interface RaftServer {
  readonly ID?: string;
  readonly Node?: string;
  readonly Address?: string;
  readonly Leader?: boolean;
  readonly Voter?: boolean;
}

export async function registryPage(deps: ConsoleDeps) {
  const errors: string[] = [];
  for (const base of deps.registryHttp) {
    try {
      const [configuration, leader] = await Promise.all([
        deps.fetch(`${base.replace(/\/+$/, "")}/v1/operator/raft/configuration`, { signal: AbortSignal.timeout(3000) }).then(json),
        deps.fetch(`${base.replace(/\/+$/, "")}/v1/status/leader`, { signal: AbortSignal.timeout(3000) }).then(json),
      ]);
      const servers = ((configuration as { Servers?: RaftServer[] }).Servers ?? []).map((s) => ({ id: s.ID ?? s.Node ?? "", address: s.Address ?? "", leader: s.Leader === true, voter: s.Voter !== false }));
      return { asked: base, leader: typeof leader === "string" ? leader : "", servers, catalogInstances: deps.store.catalog.instances.length, errors };
    } catch (error) {
      errors.push(`${base}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    asked: undefined,
    leader: "",
    servers: [],
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
