// The control plane's compiler (DESIGN.md §3.2): from the validated mesh config and the registry
// catalog, the resources one proxy runs on — clusters, endpoints, listeners, route tables, trust
// bundles — scoped by its Sidecar resource and by exportTo. Pure and deterministic: the same
// inputs give byte-identical resources, so equal configs hash to equal versions on every replica.
import type { MeshResource } from "@meshwork/config";
import { buildProxyConfig } from "../build-proxy-config.ts";
import { compileClusters, isExportedTo, labelsMatch, type MeshH2UpgradePolicy } from "../compile-clusters.ts";
import { adoptUnchanged, compileClusterPiece, mergeClusterPieces, type ClusterPiece, type PieceContext } from "./cluster-pieces.ts";
import { resolveHost } from "../resolve-host.ts";
import { catalogResources, type CatalogResources, type MeshCatalog } from "./catalog-resources.ts";
import type { ServicePort } from "../proxy-config.ts";
import { assembleProxyConfig } from "./assemble-proxy-config.ts";
import type { ListenerSecurity, NamedResource, ProxyNode, ProxyResources, TrustBundleBody } from "./proxy-resources.ts";
import { egressHosts, egressScope, isImported, scopeServiceEntry, selectSidecar } from "./select-sidecar.ts";
import { coversAny, referencedHosts, stripSource, withDelegates } from "./route-scope.ts";
import { gatewayRouteTable } from "./gateway-route-table.ts";
import { sidecarInboundPorts } from "./sidecar-inbound-ports.ts";
import { explicitEgressListeners } from "./sidecar-egress-listeners.ts";
import { expandGatewayApi } from "./expand-gateway-api.ts";
import { resolveTelemetry } from "../telemetry/resolve-telemetry.ts";

/** Mesh-wide settings the compiler needs. */
export interface MeshSettings {
  /** The cluster's DNS suffix, `cluster.local`. */
  readonly domainSuffix: string;
  /** Istio's config root namespace (mesh-wide Sidecar, DestinationRules, policies), `istio-system`. */
  readonly rootNamespace: string;
  /** Trust domain of the workloads' SPIFFE IDs, `cluster.local`. */
  readonly trustDomain: string;
  /** MeshConfig `h2UpgradePolicy`; DO_NOT_UPGRADE when unset. */
  readonly h2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
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

/**
 * catalogResources, computed once per catalog object and DNS suffix (the catalog is shared by every
 * proxy); services whose instances are unchanged since `previous` keep their objects.
 */
function catalogInputs(catalog: MeshCatalog, domainSuffix: string, previous: CatalogResources | undefined): CatalogResources {
  let byDomain = catalogCache.get(catalog);
  if (!byDomain) {
    byDomain = new Map();
    catalogCache.set(catalog, byDomain);
  }
  let inputs = byDomain.get(domainSuffix);
  if (!inputs) {
    inputs = catalogResources(catalog, { domainSuffix }, previous);
    byDomain.set(domainSuffix, inputs);
  }
  return inputs;
}

/**
 * Computes the resources of `proxy`. Registry services come first (one ServiceEntry each, see
 * catalogResources), then the config's ServiceEntries: the first definition of a host:port wins.
 * The Sidecar that applies (selectSidecar) limits the imported service hosts and VirtualServices to
 * its egress hosts (service ports per egress listener port: egressScope); exportTo limits them
 * further. Inbound ports come from the services selecting the proxy's workload whether or not the
 * Sidecar imports them, unless the Sidecar has ingress listeners, which replace them. One-shot form of ProxyCompiler
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
  /** JSON of the outbound listener's serviceIdentities (what the next compiler compares to keep `outbound`). */
  readonly identitiesJson: string;
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

/**
 * Caches that stay valid while the mesh settings, DestinationRules and security and rate-limit
 * policies are the same objects, whatever the ServiceEntries, WorkloadEntries and Sidecars do:
 * the cluster pieces of each ServiceEntry (by scope), and the inbound listeners.
 */
interface SharedCaches {
  readonly inputs: readonly unknown[];
  /** The WorkloadEntries of this compiler, and a token that changes when they do (pieces built from them check it). */
  readonly workloadEntries: readonly unknown[];
  readonly workloadToken: object;
  /** By `namespace\0matching workload-scoped rules`, by ServiceEntry. */
  readonly pieces: Map<string, WeakMap<MeshResource<"ServiceEntry">, { readonly piece: ClusterPiece; readonly workloadToken: object }>>;
  /** ServiceEntries cut down to the hosts a Sidecar imports, by ServiceEntry and kept hosts (the same object for the same cut). */
  readonly trimmed: WeakMap<MeshResource<"ServiceEntry">, Map<string, MeshResource<"ServiceEntry">>>;
  /** By namespace: the policies of the inbound listener. */
  readonly policies: Map<string, { readonly security: ListenerSecurity; readonly rateLimitPolicies: readonly MeshResource<"HTTPLocalRateLimitPolicy">[] }>;
  /**
   * By listener key: the inbound listener and the objects it was built from. The next compiler
   * keeps only the entries this one used (proxies that went away do not accumulate).
   */
  readonly inbound: Map<string, InboundEntry>;
}

interface InboundEntry {
  readonly inputs: readonly unknown[];
  readonly listener: NamedResource<"listener">;
  /** Telemetries set aside for this proxy (several at one level) and Sidecar ingress listeners not served. */
  readonly telemetryIssues: readonly string[];
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
  readonly #gateways: readonly MeshResource<"Gateway">[];
  readonly #destinationRules: readonly MeshResource<"DestinationRule">[];
  readonly #rateLimits: readonly MeshResource<"HTTPLocalRateLimitPolicy">[];
  readonly #securityPolicies: readonly MeshResource[];
  /** What the Gateway API conversion left out, shown with every proxy's issues. */
  readonly #gatewayApiIssues: readonly string[];
  /** Telemetries by namespace (config order): a proxy's come from its namespace and the root namespace. */
  readonly #telemetries = new Map<string, MeshResource<"Telemetry">[]>();
  readonly #trustBundles: readonly NamedResource<"trustBundle">[];
  /** ServiceEntries with a workloadSelector, by selectorKey of their namespace and their selector's first label: a proxy looks up its own labels only. */
  readonly #selecting = new Map<string, { se: MeshResource<"ServiceEntry">; index: number; selector: Readonly<Record<string, string>> }[]>();
  readonly #workloadsByName = new Map<string, MeshResource<"WorkloadEntry">>();
  readonly #selectiveRules: readonly { readonly index: number; readonly selector: Readonly<Record<string, string>> }[];
  /** @internal read by the next compiler */
  readonly clusterCaches: ClusterCaches;
  /** @internal read by the next compiler */
  readonly routeCaches: RouteCaches;
  /** @internal read by the next compiler */
  readonly sharedCaches: SharedCaches;
  /** @internal read by the next compiler */
  readonly catalogInputs: CatalogResources;
  /** @internal read by the next compiler: the inbound listener keys this compiler served. */
  readonly usedInbound = new Set<string>();
  /** Registry services that changed since the previous compiler: the new ServiceEntry → the one it replaces. */
  readonly #predecessors = new Map<MeshResource<"ServiceEntry">, MeshResource<"ServiceEntry">>();
  /** The previous compiler's cluster parts and listener lists when this one cannot use them as they are (its cluster inputs changed). */
  readonly #previousParts: ReadonlyMap<string, ClusterPart> | undefined;
  readonly #previousListeners: ReadonlyMap<string, readonly NamedResource<"listener">[]> | undefined;

  constructor(snapshot: ConfigSnapshot, catalog: MeshCatalog, previous?: ProxyCompiler) {
    this.#snapshot = snapshot;
    const { domainSuffix } = snapshot.mesh;
    // Gateway API resources serve as the Istio Gateways and VirtualServices they convert to (namespaces are filled in by admission).
    const expanded = expandGatewayApi(snapshot.resources, { defaultNamespace: "default", domainSuffix });
    this.#gatewayApiIssues = expanded.issues;
    const of = <K extends MeshResource["kind"]>(kind: K): MeshResource<K>[] =>
      expanded.resources.filter((r) => r.kind === kind) as unknown as MeshResource<K>[];
    const fromCatalog = catalogInputs(catalog, domainSuffix, previous?.catalogInputs);
    this.catalogInputs = fromCatalog;
    const before = previous?.catalogInputs.byService;
    if (before !== undefined && fromCatalog.byService !== undefined) {
      for (const [key, service] of fromCatalog.byService) {
        const old = before.get(key);
        if (old !== undefined && old.serviceEntry !== service.serviceEntry) this.#predecessors.set(service.serviceEntry, old.serviceEntry);
      }
    }
    this.#serviceEntries = [...fromCatalog.serviceEntries, ...of("ServiceEntry")];
    this.#workloadEntries = [...fromCatalog.workloadEntries, ...of("WorkloadEntry")];
    this.#sidecars = of("Sidecar");
    this.#virtualServices = of("VirtualService");
    this.#gateways = of("Gateway");
    const rawRules = of("DestinationRule");
    this.#destinationRules = rawRules.map(stripSource);
    this.#rateLimits = of("HTTPLocalRateLimitPolicy");
    this.#securityPolicies = snapshot.resources.filter((r) => r.kind === "PeerAuthentication" || r.kind === "AuthorizationPolicy" || r.kind === "RequestAuthentication");
    const telemetries = of("Telemetry");
    for (const t of telemetries) {
      const list = this.#telemetries.get(t.metadata.namespace ?? "") ?? [];
      list.push(t);
      this.#telemetries.set(t.metadata.namespace ?? "", list);
    }
    this.#trustBundles = [...snapshot.trustBundles].sort((a, b) => (a.trustDomain < b.trustDomain ? -1 : 1)).map((b) => ({ name: b.trustDomain, body: b }));
    this.#serviceEntries.forEach((se, index) => {
      const selector = se.spec.workloadSelector?.labels;
      const first = selector === undefined ? undefined : Object.keys(selector)[0];
      if (selector === undefined || first === undefined) return;
      const key = selectorKey(se.metadata.namespace, first, selector[first] ?? "");
      const list = this.#selecting.get(key) ?? [];
      list.push({ se, index, selector });
      this.#selecting.set(key, list);
    });
    for (const we of this.#workloadEntries) {
      const id = `${we.metadata.namespace ?? ""}/${we.metadata.name}`;
      if (!this.#workloadsByName.has(id)) this.#workloadsByName.set(id, we);
    }
    this.#selectiveRules = this.#destinationRules.flatMap((rule, index) => {
      const selector = rule.spec.workloadSelector?.matchLabels;
      return selector === undefined ? [] : [{ index, selector }];
    });
    const mesh = `${snapshot.mesh.domainSuffix}\0${snapshot.mesh.rootNamespace}\0${snapshot.mesh.trustDomain}\0${snapshot.mesh.h2UpgradePolicy ?? ""}`;
    // Telemetries are inputs of the inbound listener only; listing them here rebuilds the listener lists (cluster pieces are kept by the shared caches).
    const clusterInputs = [mesh, ...this.#serviceEntries, ...this.#workloadEntries, ...rawRules, ...this.#sidecars, ...this.#rateLimits, ...this.#securityPolicies, ...telemetries];
    const routeInputs = [mesh, ...this.#virtualServices, ...rawRules, ...this.#sidecars];
    const sharedInputs = [mesh, ...rawRules, ...this.#rateLimits, ...this.#securityPolicies];
    const shared = previous?.sharedCaches;
    this.sharedCaches =
      shared !== undefined && sameItems(shared.inputs, sharedInputs)
        ? {
            ...shared,
            inbound: new Map([...shared.inbound].filter(([key]) => previous?.usedInbound.has(key) === true)),
            inputs: sharedInputs,
            workloadEntries: this.#workloadEntries,
            workloadToken: sameItems(shared.workloadEntries, this.#workloadEntries) ? shared.workloadToken : {},
          }
        : { inputs: sharedInputs, workloadEntries: this.#workloadEntries, workloadToken: {}, pieces: new Map(), trimmed: new WeakMap(), policies: new Map(), inbound: new Map() };
    const keepClusters = previous !== undefined && sameItems(previous.clusterCaches.inputs, clusterInputs);
    this.clusterCaches = keepClusters ? { ...previous.clusterCaches, inputs: clusterInputs } : { inputs: clusterInputs, parts: new Map(), listeners: new Map() };
    this.#previousParts = keepClusters ? undefined : previous?.clusterCaches.parts;
    this.#previousListeners = keepClusters ? undefined : previous?.clusterCaches.listeners;
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
      clusters = this.#clusterPart(ns, labels, sidecar, `${ns}\0${matching.join(",")}`, this.#previousParts?.get(scope));
      this.clusterCaches.parts.set(scope, clusters);
    }
    let routes = proxy.kind === "gateway" ? undefined : this.routeCaches.parts.get(scope);
    if (proxy.kind === "gateway") {
      routes = { routeTable: gatewayRouteTable({ gateways: this.#gateways, virtualServices: this.#virtualServices, destinationRules: this.#destinationRules }, labels, ns, domainSuffix) };
    } else if (!routes) {
      routes = this.#routePart(ns, sidecar);
      this.routeCaches.parts.set(scope, routes);
    }
    const labelKey = Object.keys(proxy.labels)
      .sort()
      .map((k) => `${k}=${proxy.labels[k]}`)
      .join(",");
    const listenerKey = `${scope}\0${ownEntry === undefined ? "" : (workloadName ?? "")}\0${labelKey}`;
    this.usedInbound.add(listenerKey);
    let listeners = this.clusterCaches.listeners.get(listenerKey);
    if (!listeners) {
      // Inbound ports do not depend on what the Sidecar imports: compile them from the services of the
      // proxy's namespace that select it and its own WorkloadEntry (cheap: few clusters, no routes).
      const selecting = Object.entries(labels)
        .flatMap(([k, v]) => [...(this.#selecting.get(selectorKey(ns, k, v)) ?? []), ...(this.#selecting.get(selectorKey(undefined, k, v)) ?? [])])
        .filter((s) => labelsMatch(s.selector, labels))
        .sort((a, b) => a.index - b.index)
        .map((s) => s.se);
      // Kept across compilers while the objects it is built from are the same (a catalog change
      // elsewhere in the mesh does not rebuild every proxy's inbound listener).
      const part = clusters;
      // The Telemetries that can apply: the root namespace's and the proxy's own (a resource without namespace is in every namespace).
      const telemetries = [...new Set([...(this.#telemetries.get(rootNamespace) ?? []), ...(this.#telemetries.get(ns) ?? []), ...(this.#telemetries.get("") ?? [])])];
      const inputs = [ownEntry, sidecar, part.security, part.rateLimitPolicies, part.trustDomain, part.rootNamespace, ...selecting, "telemetries", ...telemetries];
      let inbound = this.sharedCaches.inbound.get(listenerKey);
      if (inbound === undefined || !sameItems(inbound.inputs, inputs)) {
        const derived = buildProxyConfig(ownEntry === undefined ? selecting : [...selecting, ownEntry], {
          namespace: ns,
          domainSuffix,
          proxyLabels: proxy.labels,
          version: this.#snapshot.revision,
          workloadName: ownEntry === undefined ? undefined : workloadName,
          rootNamespace,
          trustDomain,
        }).config.inbound;
        // The Sidecar's ingress listeners replace the ports derived from services (Istio's SidecarScope).
        const scoped = sidecarInboundPorts(sidecar, derived);
        const explicitIssues = explicitEgressListeners(sidecar).issues;
        const ports = scoped.ports;
        const resolved = resolveTelemetry(telemetries, { namespace: ns, labels, rootNamespace });
        const body = {
          type: "inbound",
          ports,
          trustDomain: part.trustDomain,
          rootNamespace: part.rootNamespace,
          security: part.security,
          rateLimitPolicies: part.rateLimitPolicies,
          ...(resolved.telemetry.sources.length > 0 ? { telemetry: resolved.telemetry } : {}),
        } as const;
        inbound = { inputs, listener: { name: "inbound", body }, telemetryIssues: [...resolved.issues, ...scoped.issues, ...explicitIssues] };
        this.sharedCaches.inbound.set(listenerKey, inbound);
      }
      const earlier = this.#previousListeners?.get(listenerKey);
      listeners = earlier !== undefined && earlier[0] === inbound.listener && earlier[1] === part.outbound ? earlier : [inbound.listener, part.outbound];
      this.clusterCaches.listeners.set(listenerKey, listeners);
    }
    const resources: ProxyResources = { cluster: clusters.cluster, endpoints: clusters.endpoints, listener: listeners, routeTable: routes.routeTable, trustBundle: this.#trustBundles };
    const scopeIssues = [...clusters.issues, ...(this.sharedCaches.inbound.get(listenerKey)?.telemetryIssues ?? []), ...this.#gatewayApiIssues];
    if (workloadName !== undefined && ownEntry === undefined) {
      scopeIssues.push(`WorkloadEntry "${ns}/${workloadName}" (the proxy's own workload) is not defined; no inbound ports from it`);
    }
    if (proxy.kind === "gateway" && routes.routeTable.length === 0) scopeIssues.push(`proxy "${proxy.id}" is a gateway but no Gateway selects its labels; it opens no listener`);
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

  /**
   * The clusters, endpoints and outbound listener of a scope: one piece per ServiceEntry (kept
   * across compilers by the entry's identity, see SharedCaches), merged in ServiceEntry order. A
   * registry service that changed gets a new piece that keeps the unchanged parts of its old one
   * (adoptUnchanged), and the lists equal item by item to `before`'s (the previous compiler's part
   * of the scope) are `before`'s: after an endpoint change, only the endpoints list is new.
   */
  #clusterPart(ns: string, labels: Readonly<Record<string, string>>, sidecar: MeshResource<"Sidecar"> | undefined, pieceScope: string, before: ClusterPart | undefined): ClusterPart {
    const { domainSuffix, rootNamespace, trustDomain, h2UpgradePolicy } = this.#snapshot.mesh;
    const nsOf = (r: MeshResource): string => r.metadata.namespace ?? ns;
    // Service ports are imported per egress listener port (Istio's SidecarScope), VirtualServices by all listeners' hosts.
    const scope = egressScope(sidecar);
    const shared = this.sharedCaches;
    let pieces = shared.pieces.get(pieceScope);
    if (pieces === undefined) {
      pieces = new WeakMap();
      shared.pieces.set(pieceScope, pieces);
    }
    const context: PieceContext = {
      namespace: ns,
      domainSuffix,
      proxyLabels: labels,
      rootNamespace,
      trustDomain,
      h2UpgradePolicy,
      workloadEntries: this.#workloadEntries,
      destinationRules: this.#destinationRules,
      peerAuthentications: this.#securityPolicies.filter((r): r is MeshResource<"PeerAuthentication"> => r.kind === "PeerAuthentication"),
    };
    const scopedEntries: MeshResource<"ServiceEntry">[] = [];
    const scopedPieces: ClusterPiece[] = [];
    for (const se of this.#serviceEntries) {
      for (const entry of scopeServiceEntry(se, { scope, ownerNamespace: nsOf(se), proxyNamespace: ns, cut: (hosts, ports) => this.#trimmed(se, hosts, ports) })) {
      let cached = pieces.get(entry);
      if (cached === undefined || (cached.piece.usesWorkloadEntries && cached.workloadToken !== shared.workloadToken)) {
        const replaced = entry === se ? this.#predecessors.get(se) : undefined;
        const old = replaced === undefined ? undefined : pieces.get(replaced)?.piece;
        const piece = compileClusterPiece(entry, context);
        cached = { piece: old === undefined ? piece : adoptUnchanged(piece, old), workloadToken: shared.workloadToken };
        pieces.set(entry, cached);
      }
      scopedEntries.push(entry);
      scopedPieces.push(cached.piece);
      }
    }
    const merged = mergeClusterPieces(scopedEntries, scopedPieces, ns, () =>
      compileClusters({ serviceEntries: [], workloadEntries: [], destinationRules: this.#destinationRules }, { namespace: ns, domainSuffix, proxyLabels: labels, rootNamespace }).issues,
    );
    const policies = this.#policies(ns);
    const kept = <T>(list: readonly T[], earlier: readonly T[] | undefined): readonly T[] => (earlier !== undefined && sameItems(earlier, list) ? earlier : list);
    const services = kept(merged.services, before?.services);
    const serviceIdentities = Object.fromEntries(merged.serviceIdentities);
    const identitiesJson = JSON.stringify(serviceIdentities);
    const outboundTrafficPolicy = sidecar?.spec.outboundTrafficPolicy?.mode ?? "ALLOW_ANY";
    const egressListenerPorts = scope === undefined || scope.byPort.size === 0 ? undefined : [...scope.byPort.keys()];
    // Issues of explicit listeners are reported by the proxy's inbound part (the Sidecar's other listener issues are there too).
    const egressListeners = explicitEgressListeners(sidecar).specs;
    const egressListenersJson = JSON.stringify(egressListeners);
    const sameOutbound =
      before !== undefined &&
      services === before.services &&
      identitiesJson === before.identitiesJson &&
      before.outbound.body.type === "outbound" &&
      before.outbound.body.outboundTrafficPolicy === outboundTrafficPolicy &&
      before.outbound.body.egressListenerPorts?.join(",") === egressListenerPorts?.join(",") &&
      JSON.stringify(before.outbound.body.egressListeners ?? []) === egressListenersJson;
    return {
      cluster: kept(merged.cluster, before?.cluster),
      endpoints: kept(merged.endpoints, before?.endpoints),
      services,
      identitiesJson,
      outbound: sameOutbound ? before.outbound : { name: "outbound", body: { type: "outbound", services, outboundTrafficPolicy, serviceIdentities, ...(egressListenerPorts === undefined ? {} : { egressListenerPorts }), ...(egressListeners.length === 0 ? {} : { egressListeners }) } },
      security: policies.security,
      rateLimitPolicies: policies.rateLimitPolicies,
      trustDomain,
      rootNamespace,
      issues: merged.issues,
      sidecar: sidecar ? `${nsOf(sidecar)}/${sidecar.metadata.name}` : undefined,
    };
  }

  /** `se` with only the `kept` hosts and `ports` (port numbers; undefined = all): the same object for the same cut while the shared caches live. */
  #trimmed(se: MeshResource<"ServiceEntry">, kept: readonly string[], ports: readonly number[] | undefined): MeshResource<"ServiceEntry"> {
    let cuts = this.sharedCaches.trimmed.get(se);
    if (cuts === undefined) {
      cuts = new Map();
      this.sharedCaches.trimmed.set(se, cuts);
    }
    const key = `${kept.join("\n")}\0${ports?.join(",") ?? "*"}`;
    let cut = cuts.get(key);
    if (cut === undefined) {
      const keptPorts = ports === undefined || se.spec.ports === undefined ? se.spec.ports : se.spec.ports.filter((p) => ports.includes(p.number));
      cut = { ...se, spec: { ...se.spec, hosts: [...kept], ...(keptPorts === undefined ? {} : { ports: keptPorts }) } };
      cuts.set(key, cut);
    }
    return cut;
  }

  /** The security and rate-limit policies of a namespace's inbound listeners (its own and the root namespace's, config order, without `source`). */
  #policies(ns: string): { readonly security: ListenerSecurity; readonly rateLimitPolicies: readonly MeshResource<"HTTPLocalRateLimitPolicy">[] } {
    let policies = this.sharedCaches.policies.get(ns);
    if (policies === undefined) {
      const { rootNamespace } = this.#snapshot.mesh;
      const inScope = <K extends "PeerAuthentication" | "AuthorizationPolicy" | "RequestAuthentication">(kind: K): MeshResource<K>[] =>
        (this.#securityPolicies.filter((r) => r.kind === kind && ((r.metadata.namespace ?? ns) === ns || (r.metadata.namespace ?? ns) === rootNamespace)) as unknown as MeshResource<K>[]).map((r) => stripSource(r as MeshResource) as unknown as MeshResource<K>);
      policies = {
        security: { peerAuthentications: inScope("PeerAuthentication"), requestAuthentications: inScope("RequestAuthentication"), authorizationPolicies: inScope("AuthorizationPolicy") },
        rateLimitPolicies: this.#rateLimits.filter((r) => (r.metadata.namespace ?? ns) === ns).map(stripSource),
      };
      this.sharedCaches.policies.set(ns, policies);
    }
    return policies;
  }

  #routePart(ns: string, sidecar: MeshResource<"Sidecar"> | undefined): RoutePart {
    const { domainSuffix } = this.#snapshot.mesh;
    const virtualServices = scopeVirtualServices(this.#virtualServices, egressHosts(sidecar), ns, domainSuffix);
    const routeHosts = referencedHosts(virtualServices, ns, domainSuffix);
    const rules = this.#destinationRules.filter((dr) => (dr.spec.subsets?.length ?? 0) > 0 && coversAny(resolveHost(dr.spec.host, dr.metadata.namespace ?? ns, domainSuffix), routeHosts));
    return { routeTable: [{ name: "mesh", body: { gateway: "mesh", virtualServices, destinationRules: rules } }] };
  }
}

/** The #selecting key of a workloadSelector's first label in a namespace (undefined: a resource without one, which selects in every namespace). */
function selectorKey(namespace: string | undefined, label: string, value: string): string {
  return `${namespace === undefined ? "*" : `/${namespace}`}\0${label}\0${value}`;
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** VirtualServices the proxy sees: bound to `mesh`, exported to its namespace, a host imported by the Sidecar, plus the delegates those name. Namespaces are filled in. */
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
    const boundToMesh = (vs.spec.gateways ?? ["mesh"]).includes("mesh");
    return vsHosts.length > 0 && boundToMesh && isExportedTo(vs.spec.exportTo, vsNs, ns) && vsHosts.some((h) => isImported(hosts, vsNs, resolveHost(h, vsNs, domainSuffix), ns));
  });
  return withDelegates(roots, withNs);
}
