// The control plane's compiler (DESIGN.md §3.2): from the validated mesh config and the registry
// catalog, the resources one proxy runs on — clusters, endpoints, listeners, route tables, trust
// bundles — scoped by its Sidecar resource and by exportTo. Pure and deterministic: the same
// inputs give byte-identical resources, so equal configs hash to equal versions on every replica.
import type { MeshResource } from "@meshwork/config";
import { buildProxyConfig } from "../build-proxy-config.ts";
import { isExportedTo, labelsMatch } from "../compile-clusters.ts";
import { resolveHost } from "../resolve-host.ts";
import { catalogResources, type CatalogResources, type MeshCatalog } from "./catalog-resources.ts";
import type { ServicePort } from "../proxy-config.ts";
import { assembleProxyConfig } from "./assemble-proxy-config.ts";
import type { ClusterBody, ListenerSecurity, NamedResource, ProxyNode, ProxyResources, TrustBundleBody } from "./proxy-resources.ts";
import { egressHosts, isImported, selectSidecar } from "./select-sidecar.ts";

/** Mesh-wide settings the compiler needs. */
export interface MeshSettings {
  /** The cluster's DNS suffix, `cluster.local`. */
  readonly domainSuffix: string;
  /** Istio's config root namespace (mesh-wide Sidecar, DestinationRules, policies), `istio-system`. */
  readonly rootNamespace: string;
  /** Trust domain of the workloads' SPIFFE IDs, `cluster.local`. */
  readonly trustDomain: string;
}

/** The admitted mesh config at one revision (every resource passed loadResources and analysis). */
export interface ConfigSnapshot {
  /** Opaque; changes whenever `resources` do. */
  readonly revision: string;
  readonly resources: readonly MeshResource[];
  readonly mesh: MeshSettings;
  /** Trust bundles to push (from the CA); empty when the mesh runs without one. */
  readonly trustBundles: readonly TrustBundleBody[];
}

export interface ComputedProxyConfig {
  readonly resources: ProxyResources;
  /** Problems that leave the config usable (shadowed hosts, unknown subsets, ...), for the admin pages. */
  readonly issues: readonly string[];
  /** `namespace/name` of the Sidecar resource that scoped this proxy, if any. */
  readonly sidecar: string | undefined;
}

const catalogCache = new WeakMap<MeshCatalog, Map<string, CatalogResources>>();

/** catalogResources, computed once per catalog object and DNS suffix (the catalog is shared by every proxy). */
function catalogInputs(catalog: MeshCatalog, domainSuffix: string): CatalogResources {
  let byDomain = catalogCache.get(catalog);
  if (!byDomain) {
    byDomain = new Map();
    catalogCache.set(catalog, byDomain);
  }
  let inputs = byDomain.get(domainSuffix);
  if (!inputs) {
    inputs = catalogResources(catalog, { domainSuffix });
    byDomain.set(domainSuffix, inputs);
  }
  return inputs;
}

/**
 * Computes the resources of `proxy`. Registry services come first (one ServiceEntry each, see
 * catalogResources), then the config's ServiceEntries: the first definition of a host:port wins.
 * The Sidecar that applies (selectSidecar) limits the imported service hosts and VirtualServices to
 * its egress hosts; exportTo limits them further. Inbound ports come from the services selecting
 * the proxy's workload whether or not the Sidecar imports them. One-shot form of ProxyCompiler
 * (use that to compile many proxies of one snapshot, and successive snapshots).
 */
export function computeProxyConfig(snapshot: ConfigSnapshot, catalog: MeshCatalog, proxy: ProxyNode): ComputedProxyConfig {
  return new ProxyCompiler(snapshot, catalog).compile(proxy);
}

/** `createProxyCompiler(snapshot, catalog)` as a function. */
export function createProxyCompiler(snapshot: ConfigSnapshot, catalog: MeshCatalog, previous?: ProxyCompiler): (proxy: ProxyNode) => ComputedProxyConfig {
  const compiler = new ProxyCompiler(snapshot, catalog, previous);
  return (proxy) => compiler.compile(proxy);
}

/** What a proxy's clusters, endpoints and listeners are computed from (not its routes). */
interface ClusterPart {
  readonly cluster: readonly NamedResource<"cluster">[];
  readonly endpoints: readonly NamedResource<"endpoints">[];
  readonly outbound: NamedResource<"listener">;
  readonly services: readonly ServicePort[];
  readonly security: ListenerSecurity;
  readonly rateLimitPolicies: readonly MeshResource<"HTTPLocalRateLimitPolicy">[];
  readonly trustDomain: string;
  readonly rootNamespace: string;
  readonly issues: readonly string[];
  readonly sidecar: string | undefined;
}

interface RoutePart {
  readonly routeTable: readonly NamedResource<"routeTable">[];
}

/** Caches that stay valid while the inputs of clusters (everything but VirtualServices) are the same objects. */
interface ClusterCaches {
  readonly inputs: readonly unknown[];
  readonly parts: Map<string, ClusterPart>;
  /** By scope and proxy key: the listener list (inbound + outbound) of a proxy. */
  readonly listeners: Map<string, readonly NamedResource<"listener">[]>;
}

/** Caches that stay valid while VirtualServices, DestinationRules and Sidecars are the same objects. */
interface RouteCaches {
  readonly inputs: readonly unknown[];
  readonly parts: Map<string, RoutePart>;
}

/**
 * Compiles the proxies of one snapshot and catalog. Everything but the inbound listener depends
 * only on the proxy's namespace, the Sidecar that applies to it and the DestinationRules whose
 * workloadSelector matches its labels (its own WorkloadEntry's merged in): proxies sharing those
 * share one computation and the very same resource objects (callers cache by identity, e.g.
 * encoded bodies). Given the compiler of the previous snapshot, it also keeps what the change
 * cannot have touched, judged by object identity of the inputs (the config store keeps unchanged
 * resources as the same objects): a VirtualService edit recomputes route tables only, a catalog
 * change clusters and endpoints only. Pure: the caches live in the compiler objects.
 */
export class ProxyCompiler {
  readonly #snapshot: ConfigSnapshot;
  readonly #serviceEntries: readonly MeshResource<"ServiceEntry">[];
  readonly #workloadEntries: readonly MeshResource<"WorkloadEntry">[];
  readonly #sidecars: readonly MeshResource<"Sidecar">[];
  readonly #virtualServices: readonly MeshResource<"VirtualService">[];
  readonly #destinationRules: readonly MeshResource<"DestinationRule">[];
  readonly #rateLimits: readonly MeshResource<"HTTPLocalRateLimitPolicy">[];
  readonly #securityPolicies: readonly MeshResource[];
  readonly #trustBundles: readonly NamedResource<"trustBundle">[];
  readonly #selectingByNamespace = new Map<string | undefined, { se: MeshResource<"ServiceEntry">; index: number; selector: Readonly<Record<string, string>> }[]>();
  readonly #workloadsByName = new Map<string, MeshResource<"WorkloadEntry">>();
  readonly #selectiveRules: readonly { readonly index: number; readonly selector: Readonly<Record<string, string>> }[];
  /** @internal read by the next compiler */
  readonly clusterCaches: ClusterCaches;
  /** @internal read by the next compiler */
  readonly routeCaches: RouteCaches;

  constructor(snapshot: ConfigSnapshot, catalog: MeshCatalog, previous?: ProxyCompiler) {
    this.#snapshot = snapshot;
    const { domainSuffix } = snapshot.mesh;
    const of = <K extends MeshResource["kind"]>(kind: K): MeshResource<K>[] =>
      snapshot.resources.filter((r) => r.kind === kind) as unknown as MeshResource<K>[];
    const fromCatalog = catalogInputs(catalog, domainSuffix);
    this.#serviceEntries = [...fromCatalog.serviceEntries, ...of("ServiceEntry")];
    this.#workloadEntries = [...fromCatalog.workloadEntries, ...of("WorkloadEntry")];
    this.#sidecars = of("Sidecar");
    this.#virtualServices = of("VirtualService");
    const rawRules = of("DestinationRule");
    this.#destinationRules = rawRules.map(stripSource);
    this.#rateLimits = of("HTTPLocalRateLimitPolicy");
    this.#securityPolicies = snapshot.resources.filter((r) => r.kind === "PeerAuthentication" || r.kind === "AuthorizationPolicy" || r.kind === "RequestAuthentication");
    this.#trustBundles = [...snapshot.trustBundles].sort((a, b) => (a.trustDomain < b.trustDomain ? -1 : 1)).map((b) => ({ name: b.trustDomain, body: b }));
    this.#serviceEntries.forEach((se, index) => {
      const selector = se.spec.workloadSelector?.labels;
      if (selector === undefined || Object.keys(selector).length === 0) return;
      const list = this.#selectingByNamespace.get(se.metadata.namespace) ?? [];
      list.push({ se, index, selector });
      this.#selectingByNamespace.set(se.metadata.namespace, list);
    });
    for (const we of this.#workloadEntries) {
      const id = `${we.metadata.namespace ?? ""}/${we.metadata.name}`;
      if (!this.#workloadsByName.has(id)) this.#workloadsByName.set(id, we);
    }
    this.#selectiveRules = this.#destinationRules.flatMap((rule, index) => {
      const selector = rule.spec.workloadSelector?.matchLabels;
      return selector === undefined ? [] : [{ index, selector }];
    });
    const mesh = `${snapshot.mesh.domainSuffix}\0${snapshot.mesh.rootNamespace}\0${snapshot.mesh.trustDomain}`;
    const clusterInputs = [mesh, ...this.#serviceEntries, ...this.#workloadEntries, ...rawRules, ...this.#sidecars, ...this.#rateLimits, ...this.#securityPolicies];
    const routeInputs = [mesh, ...this.#virtualServices, ...rawRules, ...this.#sidecars];
    this.clusterCaches =
      previous !== undefined && sameItems(previous.clusterCaches.inputs, clusterInputs) ? { ...previous.clusterCaches, inputs: clusterInputs } : { inputs: clusterInputs, parts: new Map(), listeners: new Map() };
    this.routeCaches = previous !== undefined && sameItems(previous.routeCaches.inputs, routeInputs) ? { ...previous.routeCaches, inputs: routeInputs } : { inputs: routeInputs, parts: new Map() };
  }

  compile(proxy: ProxyNode): ComputedProxyConfig {
    const { domainSuffix, rootNamespace, trustDomain } = this.#snapshot.mesh;
    const ns = proxy.namespace;
    const nsOf = (r: MeshResource): string => r.metadata.namespace ?? ns;
    const workloadName = proxy.workload === "" ? undefined : proxy.workload;
    const ownEntry = workloadName === undefined ? undefined : (this.#workloadsByName.get(`${ns}/${workloadName}`) ?? this.#workloadsByName.get(`/${workloadName}`));
    const labels = { ...ownEntry?.spec.labels, ...proxy.labels };
    // The outbound part depends on the labels only through the Sidecar they select and the
    // DestinationRules whose workloadSelector they match: key on those, so that every proxy of a
    // namespace shares one computation in a mesh without workload-scoped rules.
    const sidecar = selectSidecar(this.#sidecars, { namespace: ns, labels }, rootNamespace);
    const sidecarId = sidecar ? `${nsOf(sidecar)}/${sidecar.metadata.name}` : "";
    const matching = this.#selectiveRules.filter((r) => labelsMatch(r.selector, labels)).map((r) => r.index);
    const scope = `${ns}\0${sidecarId}\0${matching.join(",")}`;
    let clusters = this.clusterCaches.parts.get(scope);
    if (!clusters) {
      clusters = this.#clusterPart(ns, labels, sidecar);
      this.clusterCaches.parts.set(scope, clusters);
    }
    let routes = this.routeCaches.parts.get(scope);
    if (!routes) {
      routes = this.#routePart(ns, sidecar);
      this.routeCaches.parts.set(scope, routes);
    }
    const labelKey = Object.keys(proxy.labels)
      .sort()
      .map((k) => `${k}=${proxy.labels[k]}`)
      .join(",");
    const listenerKey = `${scope}\0${ownEntry === undefined ? "" : (workloadName ?? "")}\0${labelKey}`;
    let listeners = this.clusterCaches.listeners.get(listenerKey);
    if (!listeners) {
      // Inbound ports do not depend on what the Sidecar imports: compile them from the services of the
      // proxy's namespace that select it and its own WorkloadEntry (cheap: few clusters, no routes).
      const selecting = [...(this.#selectingByNamespace.get(ns) ?? []), ...(this.#selectingByNamespace.get(undefined) ?? [])]
        .filter((s) => labelsMatch(s.selector, labels))
        .sort((a, b) => a.index - b.index)
        .map((s) => s.se);
      const inbound = buildProxyConfig(ownEntry === undefined ? selecting : [...selecting, ownEntry], {
        namespace: ns,
        domainSuffix,
        proxyLabels: proxy.labels,
        version: this.#snapshot.revision,
        workloadName: ownEntry === undefined ? undefined : workloadName,
        rootNamespace,
        trustDomain,
      }).config.inbound;
      const part = clusters;
      listeners = [
        {
          name: "inbound",
          body: { type: "inbound", ports: inbound, trustDomain: part.trustDomain, rootNamespace: part.rootNamespace, security: part.security, rateLimitPolicies: part.rateLimitPolicies },
        },
        part.outbound,
      ];
      this.clusterCaches.listeners.set(listenerKey, listeners);
    }
    const resources: ProxyResources = { cluster: clusters.cluster, endpoints: clusters.endpoints, listener: listeners, routeTable: routes.routeTable, trustBundle: this.#trustBundles };
    const scopeIssues = [...clusters.issues];
    if (workloadName !== undefined && ownEntry === undefined) {
      scopeIssues.push(`WorkloadEntry "${ns}/${workloadName}" (the proxy's own workload) is not defined; no inbound ports from it`);
    }
    if (proxy.kind === "gateway") scopeIssues.push(`proxy "${proxy.id}" is a gateway: Gateway resources are not compiled yet; it gets the sidecar view of namespace "${ns}"`);
    let issues: readonly string[] | undefined;
    return {
      resources,
      sidecar: clusters.sidecar,
      // Route problems need the route table compiled (regexes and all), which only admin pages ask for.
      get issues(): readonly string[] {
        issues ??= [...scopeIssues, ...assembleProxyConfig(resources, { namespace: ns, domainSuffix, version: "" }).issues.filter((i) => !i.startsWith("cluster \""))];
        return issues;
      },
    };
  }

  #clusterPart(ns: string, labels: Readonly<Record<string, string>>, sidecar: MeshResource<"Sidecar"> | undefined): ClusterPart {
    const { domainSuffix, rootNamespace, trustDomain } = this.#snapshot.mesh;
    const nsOf = (r: MeshResource): string => r.metadata.namespace ?? ns;
    const hosts = egressHosts(sidecar);
    const scopedEntries: MeshResource<"ServiceEntry">[] = [];
    for (const se of this.#serviceEntries) {
      const kept = se.spec.hosts.filter((h) => isImported(hosts, nsOf(se), h, ns));
      if (kept.length === se.spec.hosts.length) scopedEntries.push(se);
      else if (kept.length > 0) scopedEntries.push({ ...se, spec: { ...se.spec, hosts: kept } });
    }
    // No VirtualServices: clusters do not depend on them (routes are their own part).
    const built = buildProxyConfig([...scopedEntries, ...this.#workloadEntries, ...this.#destinationRules, ...this.#rateLimits, ...this.#securityPolicies], {
      namespace: ns,
      domainSuffix,
      proxyLabels: labels,
      version: this.#snapshot.revision,
      rootNamespace,
      trustDomain,
    });
    const config = built.config;
    const cluster: NamedResource<"cluster">[] = [];
    const endpoints: NamedResource<"endpoints">[] = [];
    for (const spec of config.clusters.values()) {
      const { endpoints: list, ...body } = spec;
      cluster.push({ name: spec.name, body: body satisfies ClusterBody });
      const autoMtls = config.autoMtls?.get(spec.name);
      endpoints.push({ name: spec.name, body: { cluster: spec.name, endpoints: list, ...(autoMtls === undefined ? {} : { autoMtls }) } });
    }
    return {
      cluster,
      endpoints,
      services: config.services,
      outbound: {
        name: "outbound",
        body: {
          type: "outbound",
          services: config.services,
          outboundTrafficPolicy: sidecar?.spec.outboundTrafficPolicy?.mode ?? "ALLOW_ANY",
          serviceIdentities: Object.fromEntries(config.serviceIdentities ?? []),
        },
      },
      security: {
        peerAuthentications: (config.peerAuthentications ?? []).map(stripSource),
        requestAuthentications: (config.requestAuthentications ?? []).map(stripSource),
        authorizationPolicies: (config.authorizationPolicies ?? []).map(stripSource),
      },
      rateLimitPolicies: config.rateLimitPolicies.map(stripSource),
      trustDomain: config.trustDomain ?? trustDomain,
      rootNamespace: config.rootNamespace ?? rootNamespace,
      // Route issues are the route part's; buildProxyConfig saw no VirtualService here.
      issues: built.issues.filter((i) => !i.startsWith("route ")),
      sidecar: sidecar ? `${nsOf(sidecar)}/${sidecar.metadata.name}` : undefined,
    };
  }

  #routePart(ns: string, sidecar: MeshResource<"Sidecar"> | undefined): RoutePart {
    const { domainSuffix } = this.#snapshot.mesh;
    const virtualServices = scopeVirtualServices(this.#virtualServices, egressHosts(sidecar), ns, domainSuffix);
    const routeHosts = referencedHosts(virtualServices, ns, domainSuffix);
    const rules = this.#destinationRules.filter((dr) => (dr.spec.subsets?.length ?? 0) > 0 && coversAny(resolveHost(dr.spec.host, dr.metadata.namespace ?? ns, domainSuffix), routeHosts));
    return { routeTable: [{ name: "mesh", body: { gateway: "mesh", virtualServices, destinationRules: rules } }] };
  }
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** VirtualServices the proxy sees: exported to its namespace, a host imported by the Sidecar, plus the delegates those name. Namespaces are filled in. */
function scopeVirtualServices(
  all: readonly MeshResource<"VirtualService">[],
  hosts: ReturnType<typeof egressHosts>,
  ns: string,
  domainSuffix: string,
): MeshResource<"VirtualService">[] {
  const withNs = all.map((vs) => stripSource(vs.metadata.namespace === undefined ? { ...vs, metadata: { ...vs.metadata, namespace: ns } } : vs));
  const roots = withNs.filter((vs) => {
    const vsNs = vs.metadata.namespace ?? ns;
    const vsHosts = vs.spec.hosts ?? [];
    return vsHosts.length > 0 && isExportedTo(vs.spec.exportTo, vsNs, ns) && vsHosts.some((h) => isImported(hosts, vsNs, resolveHost(h, vsNs, domainSuffix), ns));
  });
  const delegates = new Set<string>();
  for (const vs of roots) {
    for (const route of vs.spec.http ?? []) {
      const d = route.delegate;
      if (d?.name !== undefined) delegates.add(`${d.namespace ?? vs.metadata.namespace}/${d.name}`);
    }
  }
  const rootSet = new Set(roots);
  return withNs.filter((vs) => rootSet.has(vs) || ((vs.spec.hosts ?? []).length === 0 && delegates.has(`${vs.metadata.namespace}/${vs.metadata.name}`)));
}

/** Destination hosts the VirtualServices route or mirror to, resolved in their namespaces. */
function referencedHosts(virtualServices: readonly MeshResource<"VirtualService">[], ns: string, domainSuffix: string): Set<string> {
  const out = new Set<string>();
  for (const vs of virtualServices) {
    const vsNs = vs.metadata.namespace ?? ns;
    const add = (host: string | undefined): void => void (host !== undefined && out.add(resolveHost(host, vsNs, domainSuffix)));
    for (const route of vs.spec.http ?? []) {
      for (const d of route.route ?? []) add(d.destination.host);
      add(route.mirror?.host);
      for (const m of route.mirrors ?? []) add(m.destination.host);
    }
    for (const route of [...(vs.spec.tcp ?? []), ...(vs.spec.tls ?? [])]) for (const d of route.route ?? []) add(d.destination.host);
  }
  return out;
}

function coversAny(ruleHost: string, hosts: ReadonlySet<string>): boolean {
  if (hosts.has(ruleHost)) return true;
  if (ruleHost === "*") return hosts.size > 0;
  if (!ruleHost.startsWith("*.")) return false;
  const suffix = ruleHost.slice(1);
  for (const h of hosts) if (h.endsWith(suffix)) return true;
  return false;
}

/** The resource without its `source` (file:line): it changes with unrelated edits and would change hashes. */
function stripSource<R extends MeshResource>(resource: R): R {
  if (resource.source === undefined) return resource;
  const { source: _source, ...rest } = resource;
  return rest as R;
}
