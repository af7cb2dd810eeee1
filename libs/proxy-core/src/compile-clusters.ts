// Compiles ServiceEntries, WorkloadEntries and DestinationRules into the clusters of one proxy
// (Istio's outbound CDS + EDS for a sidecar): one cluster per service (host, port), plus one per
// (host, port, subset) of the host's DestinationRule, each with its endpoints already filtered by
// the subset's labels and its traffic policy merged and defaulted (see proxy-config.ts).
import type { MeshResource } from "@meshwork/config";
import type { ConnectionPoolSpec } from "./circuit-breaker.ts";
import { balancerKind, type BalancerKind } from "./create-load-balancer.ts";
import type { Locality } from "./endpoint.ts";
import { flatConcat } from "./flat-concat.ts";
import { compileHashPolicy } from "./hash-policy.ts";
import { mergeTrafficPolicy, type EffectivePolicy, type TrafficPolicySpec } from "./merge-traffic-policy.ts";
import { outlierSettings, type OutlierSettings } from "./outlier-detector.ts";
import { portProtocol } from "./port-protocol.ts";
import type { ClusterEndpoint, ClusterSpec, ClusterTls, EndpointDiscovery, LocalityLbSettings, ServicePort } from "./proxy-config.ts";
import { resolveHost, type HostContext } from "./resolve-host.ts";
import { noLabels, none } from "./shared-empties.ts";

type ServiceEntryResource = MeshResource<"ServiceEntry">;
type WorkloadEntryResource = MeshResource<"WorkloadEntry">;
type DestinationRuleResource = MeshResource<"DestinationRule">;
type ServicePortSpec = NonNullable<ServiceEntryResource["spec"]["ports"]>[number];
type WorkloadSpec = WorkloadEntryResource["spec"];
type SubsetSpec = NonNullable<DestinationRuleResource["spec"]["subsets"]>[number];

export interface CompileClustersInput {
  readonly serviceEntries: readonly ServiceEntryResource[];
  readonly workloadEntries: readonly WorkloadEntryResource[];
  readonly destinationRules: readonly DestinationRuleResource[];
}

export interface CompileClustersOptions extends HostContext {
  /** Labels of the proxy's workload: DestinationRules with a workloadSelector apply only when it matches. */
  readonly proxyLabels: Readonly<Record<string, string>>;
  /** Istio's config root namespace, whose DestinationRules apply mesh-wide (default `istio-system`). */
  readonly rootNamespace?: string | undefined;
  /**
   * MeshConfig `h2UpgradePolicy`: whether HTTP ports' HTTP/1.1 requests go upstream as HTTP/2 when
   * their DestinationRule says nothing (or DEFAULT); DO_NOT_UPGRADE when unset, as in Istio.
   */
  readonly h2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
}

/** MeshConfig's `h2UpgradePolicy` values. */
export type MeshH2UpgradePolicy = "UPGRADE" | "DO_NOT_UPGRADE";

export interface CompiledClusters {
  /** By cluster name, in ServiceEntry order (service cluster of a port, then its subset clusters). */
  readonly clusters: Map<string, ClusterSpec>;
  /** Every host:port of the visible ServiceEntries. */
  readonly services: ServicePort[];
  readonly issues: string[];
}

/** Istio defaults for a cluster whose policy leaves them unset. */
const defaultConnectTimeoutMs = 10_000;
const defaultIdleTimeoutMs = 3_600_000;

/**
 * Builds the clusters a proxy in `options.namespace` sees. Resources without a namespace are in
 * the proxy's. ServiceEntries are visible per exportTo; their hosts are taken literally (Istio does
 * not expand short ServiceEntry hosts); the first ServiceEntry defining a host:port wins, later ones
 * are reported. The DestinationRule of a host is chosen as Istio's SidecarScope does: rules in the
 * proxy's namespace, else those the service's namespace exports, else the root namespace's; within
 * that scope the most specific host (exact, then the longest wildcard); several rules for the same
 * host merge (rules with a matching workloadSelector first, then input order: the first traffic
 * policy wins, subsets are combined, the first definition of a subset name wins).
 */
export function compileClusters(input: CompileClustersInput, options: CompileClustersOptions): CompiledClusters {
  const issues: string[] = [];
  const clusters = new Map<string, ClusterSpec>();
  const services: ServicePort[] = [];
  const proxyNs = options.namespace;
  const nsOf = (r: { readonly metadata: { readonly namespace?: string | undefined } }): string => r.metadata.namespace ?? proxyNs;
  const rules = indexRules(input.destinationRules, options);
  const usedRules = new Set<DestinationRuleResource>();
  const definedBy = new Map<string, string>();
  const shared = sharedParts();
  const meshUpgrade = options.h2UpgradePolicy === "UPGRADE";

  for (const se of input.serviceEntries) {
    const seNs = nsOf(se);
    if (!isExportedTo(se.spec.exportTo, seNs, proxyNs)) continue;
    const seName = `${seNs}/${se.metadata.name}`;
    const resolution = se.spec.resolution ?? "NONE";
    const addresses = se.spec.addresses ?? none;
    const workloads = seWorkloads(se, seNs, input.workloadEntries, nsOf, shared);
    for (const rawHost of se.spec.hosts) {
      const host = rawHost.toLowerCase();
      const rule = findRule(rules, host, seNs, options);
      for (const r of rule?.sources ?? []) usedRules.add(r);
      for (const port of se.spec.ports ?? []) {
        const key = `${host}:${port.number}`;
        const earlier = definedBy.get(key);
        if (earlier !== undefined) {
          issues.push(`ServiceEntry "${seName}": ${key} is already defined by ServiceEntry "${earlier}"; ignored (the first definition wins)`);
          continue;
        }
        definedBy.set(key, seName);
        const protocol = portProtocol(port.protocol, port.name);
        const serviceCluster = clusterName(port.number, undefined, host);
        services.push({ host, port: port.number, portName: port.name, protocol, cluster: serviceCluster, serviceEntry: seName, ...(addresses.length > 0 ? { addresses } : {}) });
        const endpoints = buildEndpoints(se, seName, resolution, host, port, workloads, shared);
        const common: ClusterCommon = {
          serviceCluster,
          host,
          port,
          protocol,
          resolution,
          endpoints,
          serviceSans: se.spec.subjectAltNames ?? [],
          ruleNames: rule?.names ?? none,
        };
        clusters.set(serviceCluster, buildCluster(common, undefined, mergeTrafficPolicy(rule?.trafficPolicy, undefined, port.number), shared, meshUpgrade));
        for (const subset of rule?.subsets ?? []) {
          const cluster = buildCluster(common, subset, mergeTrafficPolicy(rule?.trafficPolicy, subset.trafficPolicy, port.number), shared, meshUpgrade);
          clusters.set(cluster.name, cluster);
        }
      }
    }
  }
  for (const entry of rules.all) {
    if (!usedRules.has(entry.rule) && isVisibleRule(entry, options)) {
      issues.push(`DestinationRule "${nsOf(entry.rule)}/${entry.rule.metadata.name}": host "${entry.host}" applies to no service of a proxy in namespace "${proxyNs}" (no visible ServiceEntry has that host, or a rule closer to the proxy takes precedence); it has no effect here`);
    }
  }
  return { clusters, services, issues };
}

/** Istio's outbound cluster name; empty parts for an unset port or subset. */
export function clusterName(port: number | undefined, subset: string | undefined, host: string): string {
  return flatConcat("outbound|", port ?? "", "|", subset ?? "", "|", host);
}

/** Whether a resource of `ownerNamespace` with `exportTo` is visible in `namespace` (unset or `*`: everywhere; `.`: its own; `~`: nowhere). */
export function isExportedTo(exportTo: readonly string[] | undefined, ownerNamespace: string, namespace: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === "*" || e === namespace || (e === "." && ownerNamespace === namespace));
}

/** Whether `labels` contain every key/value of `selector` (an empty selector matches everything). */
export function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const key in selector) if (labels[key] !== selector[key]) return false;
  return true;
}

// --- endpoints ------------------------------------------------------------------------------

interface Workload {
  readonly spec: WorkloadSpec;
  readonly origin: string;
  readonly locality: Locality;
}

/** The workloads behind a ServiceEntry: its `endpoints`, or the WorkloadEntries of its namespace its workloadSelector matches. */
function seWorkloads(
  se: ServiceEntryResource,
  seNs: string,
  workloadEntries: readonly WorkloadEntryResource[],
  nsOf: (r: WorkloadEntryResource) => string,
  shared: SharedParts,
): Workload[] {
  const seName = `${seNs}/${se.metadata.name}`;
  if (se.spec.endpoints) return se.spec.endpoints.map((spec, i) => ({ spec, origin: flatConcat("ServiceEntry ", seName, " endpoints[", i, "]"), locality: shared.locality(spec.locality) }));
  const selector = se.spec.workloadSelector?.labels;
  if (selector === undefined) return [];
  return workloadEntries
    .filter((we) => nsOf(we) === seNs && labelsMatch(selector, we.spec.labels ?? {}))
    .map((we) => ({ spec: we.spec, origin: flatConcat("WorkloadEntry ", seNs, "/", we.metadata.name), locality: shared.locality(we.spec.locality) }));
}

type Resolution = NonNullable<ServiceEntryResource["spec"]["resolution"]>;

function buildEndpoints(
  se: ServiceEntryResource,
  seName: string,
  resolution: Resolution,
  host: string,
  port: ServicePortSpec,
  workloads: readonly Workload[],
  shared: SharedParts,
): ClusterEndpoint[] {
  // NONE forwards to the caller's original destination; DYNAMIC_DNS resolves each request's host.
  if (resolution === "NONE" || resolution === "DYNAMIC_DNS") return [];
  const dns = resolution === "DNS" || resolution === "DNS_ROUND_ROBIN";
  if (workloads.length === 0 && dns && se.spec.endpoints === undefined && se.spec.workloadSelector === undefined && !host.startsWith("*")) {
    // DNS without endpoints: the host name itself is the endpoint.
    return [makeEndpoint(host, port.targetPort ?? port.number, 1, shared.locality(undefined), {}, flatConcat("ServiceEntry ", seName, " host"))];
  }
  const endpoints: ClusterEndpoint[] = [];
  for (const w of workloads) {
    const address = w.spec.address;
    if (address === undefined || address === "") continue; // reached through a network gateway: not modelled
    const unix = address.startsWith("unix://");
    const target = unix ? 0 : (w.spec.ports?.[port.name] ?? port.targetPort ?? port.number);
    // Istio: weight 0 (unset) means the default 1.
    endpoints.push(makeEndpoint(address, target, w.spec.weight || 1, w.locality, w.spec.labels ?? {}, w.origin));
  }
  return exactSize(endpoints);
}

const unknownLocality: Locality = Object.freeze({ region: "", zone: "", subZone: "" });

function makeEndpoint(
  host: string,
  port: number,
  weight: number,
  locality: Locality,
  labels: Readonly<Record<string, string>>,
  origin: string,
): ClusterEndpoint {
  const address = host.startsWith("unix://") ? host : host.includes(":") ? flatConcat("[", host, "]:", port) : flatConcat(host, ":", port);
  return { address, weight, healthy: true, locality, host, port, labels, origin };
}

/** `region/zone/subzone` (levels may be missing) → Locality. */
function parseLocality(text: string | undefined): Locality {
  if (text === undefined || text === "") return unknownLocality;
  const [region = "", zone = "", subZone = ""] = text.split("/");
  return { region, zone, subZone };
}

// --- destination rules ----------------------------------------------------------------------

interface RuleEntry {
  readonly rule: DestinationRuleResource;
  readonly namespace: string;
  /** Resolved host (wildcards as written, lowercase). */
  readonly host: string;
  readonly hasSelector: boolean;
  readonly selectorMatches: boolean;
}

interface RuleIndex {
  readonly byNamespace: ReadonlyMap<string, readonly RuleEntry[]>;
  readonly all: readonly RuleEntry[];
}

/** The merged DestinationRule of one host. */
interface MergedRule {
  readonly trafficPolicy: TrafficPolicySpec | undefined;
  readonly subsets: readonly SubsetSpec[];
  /** `namespace/name` of the merged rules, in merge order. */
  readonly names: readonly string[];
  readonly sources: readonly DestinationRuleResource[];
}

function indexRules(rules: readonly DestinationRuleResource[], options: CompileClustersOptions): RuleIndex {
  const byNamespace = new Map<string, RuleEntry[]>();
  const all: RuleEntry[] = [];
  for (const rule of rules) {
    const namespace = rule.metadata.namespace ?? options.namespace;
    const selector = rule.spec.workloadSelector?.matchLabels;
    const entry: RuleEntry = {
      rule,
      namespace,
      host: resolveHost(rule.spec.host, namespace, options.domainSuffix),
      hasSelector: selector !== undefined,
      selectorMatches: selector === undefined || labelsMatch(selector, options.proxyLabels),
    };
    all.push(entry);
    let list = byNamespace.get(namespace);
    if (!list) byNamespace.set(namespace, (list = []));
    list.push(entry);
  }
  return { byNamespace, all };
}

/** Whether a rule could apply to this proxy at all (for the "matches nothing" report). */
function isVisibleRule(entry: RuleEntry, options: CompileClustersOptions): boolean {
  if (entry.hasSelector && (entry.namespace !== options.namespace || !entry.selectorMatches)) return false;
  return entry.namespace === options.namespace || isExportedTo(entry.rule.spec.exportTo, entry.namespace, options.namespace);
}

/** How specifically a rule host covers `host`: exact beats every wildcard, longer wildcards beat shorter; -1 = no match. */
function hostScore(ruleHost: string, host: string): number {
  if (ruleHost === host) return Number.MAX_SAFE_INTEGER;
  if (ruleHost === "*") return 0;
  if (ruleHost.startsWith("*.")) {
    const suffix = ruleHost.slice(1);
    if (host.startsWith("*.")) return host.endsWith(suffix) && host.length > ruleHost.length ? suffix.length : -1;
    return host.endsWith(suffix) ? suffix.length : -1;
  }
  return -1;
}

function findRule(index: RuleIndex, host: string, serviceNs: string, options: CompileClustersOptions): MergedRule | undefined {
  const root = options.rootNamespace ?? "istio-system";
  const scopes = [...new Set([options.namespace, serviceNs, root])];
  for (const ns of scopes) {
    const local = ns === options.namespace;
    let best = -1;
    let chosen: RuleEntry[] = [];
    for (const entry of index.byNamespace.get(ns) ?? []) {
      // A workloadSelector rule applies only to the workloads of its own namespace it selects.
      if (entry.hasSelector && (!local || !entry.selectorMatches)) continue;
      if (!local && !isExportedTo(entry.rule.spec.exportTo, ns, options.namespace)) continue;
      const score = hostScore(entry.host, host);
      if (score < 0 || score < best) continue;
      if (score > best) {
        best = score;
        chosen = [];
      }
      chosen.push(entry);
    }
    if (chosen.length > 0) return mergeRules([...chosen.filter((e) => e.hasSelector), ...chosen.filter((e) => !e.hasSelector)]);
  }
  return undefined;
}

function mergeRules(entries: readonly RuleEntry[]): MergedRule {
  let trafficPolicy: TrafficPolicySpec | undefined;
  const subsets: SubsetSpec[] = [];
  const seen = new Set<string>();
  for (const { rule } of entries) {
    trafficPolicy ??= rule.spec.trafficPolicy;
    for (const subset of rule.spec.subsets ?? []) {
      if (seen.has(subset.name)) continue;
      seen.add(subset.name);
      subsets.push(subset);
    }
  }
  return {
    trafficPolicy,
    subsets,
    names: entries.map((e) => `${e.namespace}/${e.rule.metadata.name}`),
    sources: entries.map((e) => e.rule),
  };
}

// --- cluster --------------------------------------------------------------------------------

interface ClusterCommon {
  /** The cluster name of the whole service port (its subsets' names are built per subset). */
  readonly serviceCluster: string;
  readonly host: string;
  readonly port: ServicePortSpec;
  readonly protocol: ClusterSpec["protocol"];
  readonly resolution: Resolution;
  readonly endpoints: readonly ClusterEndpoint[];
  readonly serviceSans: readonly string[];
  readonly ruleNames: readonly string[];
}


/**
 * The parts of clusters and endpoints that many of them have equal, built once per compile and
 * shared: localities (by their text), and the balancer, circuit-breaker limits, outlier settings
 * and locality settings compiled from one policy object (DestinationRule policies are shared by
 * the clusters of every port and subset of a host). A model of 1,000 services held ~6,000 copies
 * of each locality and one set of these per cluster (bench/proxy/README.md, "Idle memory"). The
 * compiled values are plain data nobody mutates, so sharing them changes nothing but memory.
 */
interface SharedParts {
  locality(text: string | undefined): Locality;
  balancer(spec: LoadBalancerSpec | undefined): BalancerKind;
  connectionPool(spec: EffectivePolicy["connectionPool"]): ConnectionPoolSpec;
  outlier(spec: EffectivePolicy["outlierDetection"]): OutlierSettings | undefined;
  localityLb(spec: LocalityLbSpec | undefined, outlier: OutlierSettings | undefined): LocalityLbSettings | undefined;
}

type LoadBalancerSpec = EffectivePolicy["loadBalancer"];
type LocalityLbSpec = NonNullable<LoadBalancerSpec>["localityLbSetting"];

function sharedParts(): SharedParts {
  /** One compiled value per source object (undefined included). */
  const memo = <K, V>(build: (key: K) => V): ((key: K) => V) => {
    const cache = new Map<K, V>();
    return (key) => {
      if (cache.has(key)) return cache.get(key) as V;
      const value = build(key);
      cache.set(key, value);
      return value;
    };
  };
  const localityLb = memo(localityOf);
  return {
    locality: memo((text: string | undefined) => parseLocality(text)),
    balancer: memo((spec: LoadBalancerSpec | undefined) => balancerKind(spec)),
    connectionPool: memo(poolOf),
    outlier: memo((spec: EffectivePolicy["outlierDetection"]) => (spec === undefined ? undefined : outlierFromSpec(spec))),
    // Istio applies locality load balancing only with outlier detection (otherwise it cannot see a locality fail).
    localityLb: (spec, outlier) => (outlier === undefined ? undefined : localityLb(spec)),
  };
}

/** `meshUpgrade`: MeshConfig's h2UpgradePolicy is UPGRADE (what DEFAULT and an unset policy mean). */
function buildCluster(common: ClusterCommon, subset: SubsetSpec | undefined, policy: EffectivePolicy, shared: SharedParts, meshUpgrade: boolean): ClusterSpec {
  const { host, port, protocol } = common;
  const lb = policy.loadBalancer;
  const pool = policy.connectionPool;
  const subsetLabels = subset?.labels ?? noLabels;
  const selects = Object.keys(subsetLabels).length > 0;
  const outlier = shared.outlier(policy.outlierDetection);
  const useClientProtocol = pool?.http?.useClientProtocol ?? false;
  const h2Policy = pool?.http?.h2UpgradePolicy ?? "DEFAULT";
  // As Istio's shouldH2Upgrade: the rule's UPGRADE applies to any port, the mesh's to HTTP ports only (not sniffed ones).
  const upgrade = h2Policy === "UPGRADE" || (h2Policy === "DEFAULT" && meshUpgrade && protocol === "http");
  return {
    name: subset === undefined ? common.serviceCluster : clusterName(port.number, subset.name, host),
    host,
    port: port.number,
    portName: port.name,
    subset: subset?.name,
    subsetLabels,
    protocol,
    discovery: discoveryOf(common.resolution, lb?.simple),
    endpoints: selects ? exactSize(common.endpoints.filter((e) => labelsMatch(subsetLabels, e.labels))) : common.endpoints,
    balancer: shared.balancer(lb),
    hashPolicy: lb?.consistentHash ? compileHashPolicy(lb.consistentHash) : undefined,
    locality: shared.localityLb(lb?.localityLbSetting, outlier),
    connectionPool: shared.connectionPool(pool),
    outlier,
    tls: tlsOf(policy.tls, port.number, subset?.name, host, common.serviceSans),
    connectTimeoutMs: pool?.tcp?.connectTimeout ?? defaultConnectTimeoutMs,
    idleTimeoutMs: pool?.http?.idleTimeout ?? defaultIdleTimeoutMs,
    tcpIdleTimeoutMs: pool?.tcp?.idleTimeout ?? defaultIdleTimeoutMs,
    maxConnectionDurationMs: pool?.tcp?.maxConnectionDuration,
    // Istio: http2/grpc ports always speak HTTP/2 upstream; h2UpgradePolicy upgrades HTTP ports only.
    upstreamHttp2: !useClientProtocol && (protocol === "http2" || protocol === "grpc" || upgrade),
    useClientProtocol,
    destinationRules: common.ruleNames,
  };
}

/**
 * `list` in an array of its own length. An array built by push (or filter) keeps room for 17
 * elements after the first push: 152 bytes for a cluster's 3 endpoints instead of 40, in a model
 * that holds thousands of endpoint lists for as long as it serves.
 */
function exactSize<T>(list: T[]): T[] {
  return list.slice();
}

function discoveryOf(resolution: Resolution, simple: string | undefined): EndpointDiscovery {
  if (simple === "PASSTHROUGH" || resolution === "NONE" || resolution === "DYNAMIC_DNS") return "original-destination";
  if (resolution === "DNS") return "dns";
  if (resolution === "DNS_ROUND_ROBIN") return "dns-round-robin";
  return "static";
}

/**
 * Istio's applyOutlierDetection: the deprecated consecutiveErrors counts gateway errors only (and
 * turns 5xx counting off) unless consecutive5xxErrors / consecutiveGatewayErrors are set.
 */
function outlierFromSpec(spec: NonNullable<EffectivePolicy["outlierDetection"]>): OutlierSettings {
  const legacy = spec.consecutive5xxErrors === undefined && spec.consecutiveErrors !== undefined && spec.consecutiveErrors > 0;
  return outlierSettings({
    consecutive5xxErrors: legacy ? 0 : spec.consecutive5xxErrors,
    consecutiveGatewayErrors: spec.consecutiveGatewayErrors ?? (legacy ? spec.consecutiveErrors : undefined),
    interval: spec.interval,
    baseEjectionTime: spec.baseEjectionTime,
    maxEjectionPercent: spec.maxEjectionPercent,
  });
}

/** The locality settings of a cluster that has outlier detection (see `SharedParts.localityLb`). */
function localityOf(spec: LocalityLbSpec | undefined): LocalityLbSettings | undefined {
  if (spec?.enabled === false) return undefined;
  return {
    failover: spec?.failover ?? [],
    distribute: spec?.distribute ?? [],
    failoverPriority: spec?.failoverPriority ?? [],
  };
}

/** The circuit-breaker limits of a connectionPool (DestinationRule, Sidecar ingress); `{}` without one. */
export function poolOf(pool: EffectivePolicy["connectionPool"]): ConnectionPoolSpec {
  if (pool === undefined) return {};
  return {
    tcp: pool.tcp === undefined ? undefined : { maxConnections: pool.tcp.maxConnections },
    http:
      pool.http === undefined
        ? undefined
        : {
            http1MaxPendingRequests: pool.http.http1MaxPendingRequests,
            http2MaxRequests: pool.http.http2MaxRequests,
            maxRetries: pool.http.maxRetries,
            maxRequestsPerConnection: pool.http.maxRequestsPerConnection,
          },
  };
}

function tlsOf(
  spec: EffectivePolicy["tls"],
  port: number,
  subset: string | undefined,
  host: string,
  serviceSans: readonly string[],
): ClusterTls | undefined {
  if (spec === undefined) return undefined;
  const mode = spec.mode ?? "DISABLE";
  return {
    mode,
    sni: spec.sni ?? (mode === "ISTIO_MUTUAL" ? `outbound_.${port}_.${subset ?? ""}_.${host}` : undefined),
    subjectAltNames: spec.subjectAltNames ?? serviceSans,
    caCertificates: spec.caCertificates,
    clientCertificate: spec.clientCertificate,
    privateKey: spec.privateKey,
    credentialName: spec.credentialName,
    insecureSkipVerify: spec.insecureSkipVerify ?? false,
  };
}
