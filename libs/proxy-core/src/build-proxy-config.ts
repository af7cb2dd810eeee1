// Builds everything one sidecar runs on from a set of validated Istio resources: the route table
// of gateway `mesh` (VirtualServices plus Istio's default route for every service host no
// VirtualService covers), the clusters, the outbound service ports and the inbound ports of the
// proxy's own workload, scoped by the Sidecar resource that selects the proxy.
import type { MeshResource } from "@meshwork/config";
import { compileClusters, isExportedTo, labelsMatch, type MeshH2UpgradePolicy } from "./compile-clusters.ts";
import { compileRouteTable } from "./compile-route-table.ts";
import { gatewaySelects } from "./gateway/gateway-listeners.ts";
import { compileGatewayTcpRoutes } from "./gateway/gateway-tcp-routes.ts";
import { compileTcpRouteTable } from "./compile-tcp-route-table.ts";
import { addressesByHost } from "./addresses-by-host.ts";
import { autoAllocateServiceAddresses } from "./dns/auto-allocate-addresses.ts";
import { autoMtlsEndpoints, serviceIdentities } from "./peer-authentication/service-identities.ts";
import { addDefaultRoutes } from "./proxy-model/add-default-routes.ts";
import { expandGatewayApi } from "./proxy-model/expand-gateway-api.ts";
import { portProtocol } from "./port-protocol.ts";
import { egressHosts, egressScope, isImported, scopeServiceEntry, selectSidecar } from "./proxy-model/select-sidecar.ts";
import { egressListenerRoutes, egressListenersFor, explicitEgressListeners } from "./proxy-model/sidecar-egress-listeners.ts";
import { sidecarInboundPorts } from "./proxy-model/sidecar-inbound-ports.ts";
import { resolveHost } from "./resolve-host.ts";
import type { InboundPort, ProxyConfig } from "./proxy-config.ts";
import { createClusterResolver } from "./resolve-cluster.ts";
import { resolveTelemetry } from "./telemetry/resolve-telemetry.ts";

export interface BuildProxyConfigOptions {
  /** The proxy's namespace: short names resolve in it, resources without a namespace are in it. */
  readonly namespace: string;
  /** The cluster's DNS suffix, `cluster.local`. */
  readonly domainSuffix: string;
  /** Labels of the proxy's workload (workloadSelector DestinationRules, inbound ServiceEntries). */
  readonly proxyLabels: Readonly<Record<string, string>>;
  /** Label of this config, copied to ProxyConfig.version. */
  readonly version: string;
  /** Name of the proxy's own WorkloadEntry in `namespace`, if it has one: its labels join proxyLabels and its `ports` give the inbound target ports. */
  readonly workloadName?: string | undefined;
  /** Istio's config root namespace (mesh-wide DestinationRules); `istio-system` when unset. */
  readonly rootNamespace?: string | undefined;
  /** Trust domain of the workloads' SPIFFE IDs (secure naming); `cluster.local` when unset. */
  readonly trustDomain?: string | undefined;
  /** MeshConfig `h2UpgradePolicy` (DO_NOT_UPGRADE when unset): see CompileClustersOptions. */
  readonly h2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
  /**
   * Give services without addresses one (Istio's ISTIO_META_DNS_AUTO_ALLOCATE; autoAllocateServiceAddresses):
   * the DNS proxy answers their hosts with it and TCP connections to it reach them. Default false.
   */
  readonly autoAllocateAddresses?: boolean | undefined;
  /**
   * Apply the Sidecar resource that selects the proxy (selectSidecar): egress listeners scope the
   * services and VirtualServices it can reach (per port), ingress listeners replace its inbound
   * ports. Default true; a gateway passes false (Sidecars do not configure gateways, as in Istio).
   */
  readonly applySidecar?: boolean | undefined;
}

export interface BuildProxyConfigResult {
  readonly config: ProxyConfig;
  /** Problems that leave the config usable: shadowed hosts, undefined subsets, destinations without a cluster. */
  readonly issues: readonly string[];
}

/**
 * Builds the ProxyConfig of a proxy from `resources` (as loadResources returns them; kinds the
 * proxy does not use are ignored). Pure and deterministic: the same resources and options give the
 * same config.
 */
export function buildProxyConfig(given: readonly MeshResource[], options: BuildProxyConfigOptions): BuildProxyConfigResult {
  // Gateway API Gateways and HTTPRoutes serve as the Istio Gateways and VirtualServices they convert to.
  const expanded = expandGatewayApi(given, { defaultNamespace: options.namespace, domainSuffix: options.domainSuffix });
  const resources = expanded.resources;
  const of = <K extends MeshResource["kind"]>(kind: K): MeshResource<K>[] => resources.filter((r) => r.kind === kind) as unknown as MeshResource<K>[];
  const serviceEntries = of("ServiceEntry");
  const workloadEntries = of("WorkloadEntry");
  const destinationRules = of("DestinationRule");
  const ownEntry = options.workloadName === undefined
    ? undefined
    : workloadEntries.find((we) => we.metadata.name === options.workloadName && (we.metadata.namespace ?? options.namespace) === options.namespace);
  const issues: string[] = [...expanded.issues];
  if (options.workloadName !== undefined && ownEntry === undefined) {
    issues.push(`WorkloadEntry "${options.namespace}/${options.workloadName}" (the proxy's own workload) is not defined; no inbound ports from it`);
  }
  const proxyLabels = { ...ownEntry?.spec.labels, ...options.proxyLabels };
  const hostContext = { namespace: options.namespace, domainSuffix: options.domainSuffix };
  const rootNamespace = options.rootNamespace ?? "istio-system";
  // The Sidecar resource, as the control plane applies it (compute-proxy-config.ts): services per egress listener port, VirtualServices by all its hosts.
  const sidecar = options.applySidecar === false ? undefined : selectSidecar(of("Sidecar"), { namespace: options.namespace, labels: proxyLabels }, rootNamespace);
  const scope = egressScope(sidecar);
  const egress = egressHosts(sidecar);
  const nsOf = (r: MeshResource): string => r.metadata.namespace ?? options.namespace;
  // A delegate (no hosts) is kept whatever its exportTo: that decides whether a root in another
  // namespace may use it (compileRouteTable checks it), not whether this proxy sees it. A
  // VirtualService bound to gateways only is the gateways' (Sidecar egress does not scope it).
  const virtualServices = of("VirtualService").filter((vs) => {
    const hosts = vs.spec.hosts ?? [];
    if (hosts.length === 0) return true;
    if (!isExportedTo(vs.spec.exportTo, nsOf(vs), options.namespace)) return false;
    if (egress === undefined || !(vs.spec.gateways ?? ["mesh"]).includes("mesh")) return true;
    return hosts.some((h) => isImported(egress, nsOf(vs), resolveHost(h, nsOf(vs), options.domainSuffix), options.namespace));
  });
  const outboundEntries = serviceEntries.flatMap((se) =>
    scopeServiceEntry(se, {
      scope,
      ownerNamespace: nsOf(se),
      proxyNamespace: options.namespace,
      cut: (hosts, ports) => ({ ...se, spec: { ...se.spec, hosts: [...hosts], ...(ports !== undefined && se.spec.ports !== undefined ? { ports: se.spec.ports.filter((p) => ports.includes(p.number)) } : {}) } }),
    }),
  );

  const vsTable = compileRouteTable(virtualServices, destinationRules, hostContext);
  const compiled = compileClusters(
    { serviceEntries: outboundEntries, workloadEntries, destinationRules },
    { ...hostContext, proxyLabels, rootNamespace: options.rootNamespace, h2UpgradePolicy: options.h2UpgradePolicy },
  );
  const allocated = options.autoAllocateAddresses === true ? autoAllocateServiceAddresses(compiled.services, compiled.clusters) : undefined;
  const services = allocated?.services ?? compiled.services;
  // Explicit egress listeners (captureMode NONE or bind) serve the services imported on their port, HTTP ones through a gateway of their own.
  const explicit = explicitEgressListeners(sidecar);
  issues.push(...explicit.issues);
  const egressListeners = egressListenersFor(explicit.specs, services);
  const routeTable = egressListenerRoutes(addDefaultRoutes(vsTable, services, options, scope === undefined ? undefined : [...scope.byPort.keys()]), egressListeners, hostContext);
  const scopedInbound = sidecarInboundPorts(sidecar, inboundPorts(serviceEntries, ownEntry, proxyLabels, options.namespace));
  const inbound = scopedInbound.ports;
  issues.push(...scopedInbound.issues);
  // Rate-limit policies apply in their own namespace only; compileRateLimits matches labels and ports per listener.
  const rateLimitPolicies = of("HTTPLocalRateLimitPolicy").filter((p) => (p.metadata.namespace ?? options.namespace) === options.namespace);
  const tcpRoutes = compileTcpRouteTable(virtualServices, destinationRules, { ...hostContext, serviceHosts: services.map((s) => s.host), serviceAddresses: addressesByHost(services) });
  // Security policies: the proxy's namespace and the root namespace (mesh-wide ones), as Istio selects them for a workload.
  const trustDomain = options.trustDomain ?? "cluster.local";
  const inScope = <K extends "PeerAuthentication" | "AuthorizationPolicy" | "RequestAuthentication">(kind: K): MeshResource<K>[] =>
    of(kind).filter((p) => {
      const ns = p.metadata.namespace ?? options.namespace;
      return ns === options.namespace || ns === rootNamespace;
    });
  const peerAuthentications = inScope("PeerAuthentication");
  const telemetry = resolveTelemetry(of("Telemetry"), { namespace: options.namespace, labels: proxyLabels, rootNamespace });
  issues.push(...telemetry.issues);
  const config: ProxyConfig = {
    version: options.version,
    routeTable,
    tcpRoutes,
    clusters: compiled.clusters,
    inbound,
    services,
    rateLimitPolicies,
    trustDomain,
    rootNamespace,
    peerAuthentications,
    authorizationPolicies: inScope("AuthorizationPolicy"),
    requestAuthentications: inScope("RequestAuthentication"),
    serviceIdentities: serviceIdentities(serviceEntries.filter((se) => isExportedTo(se.spec.exportTo, se.metadata.namespace ?? options.namespace, options.namespace)), workloadEntries, { namespace: options.namespace, trustDomain }),
    // The destination's policy decides auto mTLS, whatever its namespace: every PeerAuthentication counts here.
    autoMtls: autoMtlsEndpoints(compiled.clusters, services, of("PeerAuthentication"), rootNamespace),
    gateways: of("Gateway"),
    // Only the Gateways that select this proxy need their L4 routes compiled.
    gatewayTcpRoutes: compileGatewayTcpRoutes(of("Gateway").filter((g) => gatewaySelects(g, proxyLabels)), virtualServices, destinationRules, hostContext),
    ...(telemetry.telemetry.sources.length > 0 ? { telemetry: telemetry.telemetry } : {}),
    ...(egressListeners.length > 0 ? { egressListeners } : {}),
    // A Sidecar's outboundTrafficPolicy without a mode is REGISTRY_ONLY (the proto's zero value), as validation tells its author.
    ...(sidecar?.spec.outboundTrafficPolicy !== undefined ? { outboundTrafficPolicy: sidecar.spec.outboundTrafficPolicy.mode ?? "REGISTRY_ONLY" } : {}),
  };
  const resolver = createClusterResolver(config);
  issues.push(...routeTable.issues, ...tcpRoutes.issues, ...compiled.issues, ...resolver.issues, ...(allocated?.issues ?? []));
  return { config, issues };
}

/**
 * Ports of the proxy's own workload: those of every ServiceEntry in its namespace whose
 * workloadSelector matches its labels (first ServiceEntry wins per target port).
 */
function inboundPorts(
  serviceEntries: readonly MeshResource<"ServiceEntry">[],
  ownEntry: MeshResource<"WorkloadEntry"> | undefined,
  proxyLabels: Readonly<Record<string, string>>,
  namespace: string,
): InboundPort[] {
  const ports: InboundPort[] = [];
  const seen = new Set<number>();
  for (const se of serviceEntries) {
    const selector = se.spec.workloadSelector?.labels;
    if (selector === undefined || (se.metadata.namespace ?? namespace) !== namespace || !labelsMatch(selector, proxyLabels)) continue;
    // An empty selector would select every workload; Istio requires at least one label for inbound.
    if (Object.keys(selector).length === 0) continue;
    for (const port of se.spec.ports ?? []) {
      const targetPort = ownEntry?.spec.ports?.[port.name] ?? port.targetPort ?? port.number;
      if (seen.has(targetPort)) continue;
      seen.add(targetPort);
      ports.push({
        port: port.number,
        targetPort,
        portName: port.name,
        protocol: portProtocol(port.protocol, port.name),
        cluster: `inbound|${targetPort}||`,
        host: (se.spec.hosts[0] ?? "").toLowerCase(),
      });
    }
  }
  return ports;
}
