// Builds everything one sidecar runs on from a set of validated Istio resources: the route table
// of gateway `mesh` (VirtualServices plus Istio's default route for every service host no
// VirtualService covers), the clusters, the outbound service ports and the inbound ports of the
// proxy's own workload.
import type { MeshResource } from "@meshwork/config";
import { compileClusters, isExportedTo, labelsMatch } from "./compile-clusters.ts";
import { compileRouteTable } from "./compile-route-table.ts";
import { compileTcpRouteTable } from "./compile-tcp-route-table.ts";
import { findVirtualHost } from "./find-route.ts";
import { compileRetryPolicy } from "./parse-retry-on.ts";
import { portProtocol } from "./port-protocol.ts";
import type { InboundPort, ProxyConfig, ServicePort } from "./proxy-config.ts";
import { domainAliases } from "./resolve-host.ts";
import { createClusterResolver } from "./resolve-cluster.ts";
import type { CompiledMatch, CompiledRoute, GatewayRoutes, RouteTable, VirtualHost } from "./route-table.ts";

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
export function buildProxyConfig(resources: readonly MeshResource[], options: BuildProxyConfigOptions): BuildProxyConfigResult {
  const of = <K extends MeshResource["kind"]>(kind: K): MeshResource<K>[] => resources.filter((r) => r.kind === kind) as unknown as MeshResource<K>[];
  const serviceEntries = of("ServiceEntry");
  const workloadEntries = of("WorkloadEntry");
  const destinationRules = of("DestinationRule");
  const virtualServices = of("VirtualService").filter((vs) => isExportedTo(vs.spec.exportTo, vs.metadata.namespace ?? options.namespace, options.namespace));

  const ownEntry = options.workloadName === undefined
    ? undefined
    : workloadEntries.find((we) => we.metadata.name === options.workloadName && (we.metadata.namespace ?? options.namespace) === options.namespace);
  const issues: string[] = [];
  if (options.workloadName !== undefined && ownEntry === undefined) {
    issues.push(`WorkloadEntry "${options.namespace}/${options.workloadName}" (the proxy's own workload) is not defined; no inbound ports from it`);
  }
  const proxyLabels = { ...ownEntry?.spec.labels, ...options.proxyLabels };
  const hostContext = { namespace: options.namespace, domainSuffix: options.domainSuffix };

  const vsTable = compileRouteTable(virtualServices, destinationRules, hostContext);
  const compiled = compileClusters(
    { serviceEntries, workloadEntries, destinationRules },
    { ...hostContext, proxyLabels, rootNamespace: options.rootNamespace },
  );
  const routeTable = withDefaultRoutes(vsTable, compiled.services, options);
  const inbound = inboundPorts(serviceEntries, ownEntry, proxyLabels, options.namespace);
  // Rate-limit policies apply in their own namespace only; compileRateLimits matches labels and ports per listener.
  const rateLimitPolicies = of("HTTPLocalRateLimitPolicy").filter((p) => (p.metadata.namespace ?? options.namespace) === options.namespace);
  const tcpRoutes = compileTcpRouteTable(virtualServices, destinationRules, { ...hostContext, serviceHosts: compiled.services.map((s) => s.host) });
  const config: ProxyConfig = { version: options.version, routeTable, tcpRoutes, clusters: compiled.clusters, inbound, services: compiled.services, rateLimitPolicies };
  const resolver = createClusterResolver(config);
  issues.push(...routeTable.issues, ...tcpRoutes.issues, ...compiled.issues, ...resolver.issues);
  return { config, issues };
}

/** Istio's route for a service without a VirtualService: every request of every port to `outbound|<port>||<host>`. */
function withDefaultRoutes(table: RouteTable, services: readonly ServicePort[], options: BuildProxyConfigOptions): RouteTable {
  const mesh = table.gateways.get("mesh");
  const exact = new Map(mesh?.exact);
  const wildcards = [...(mesh?.wildcards ?? [])];
  const covered = (host: string): boolean => {
    if (!mesh) return false;
    if (host.startsWith("*")) return mesh.wildcards.some((w) => `*${w.suffix}` === host || w.suffix === "");
    return findVirtualHost(mesh, host) !== undefined;
  };
  const done = new Set<string>();
  for (const service of services) {
    if (done.has(service.host)) continue;
    done.add(service.host);
    if (covered(service.host)) continue;
    const vhost = defaultVirtualHost(service.host, options);
    for (const domain of vhost.domains) {
      if (domain.startsWith("*")) {
        if (!wildcards.some((w) => `*${w.suffix}` === domain)) wildcards.push({ suffix: domain.slice(1), host: vhost });
      } else if (!exact.has(domain)) {
        exact.set(domain, vhost);
      }
    }
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  const gateways = new Map<string, GatewayRoutes>(table.gateways);
  gateways.set("mesh", { exact, wildcards });
  return { gateways, issues: table.issues };
}

const meshOnly: ReadonlySet<string> = new Set(["mesh"]);

/** The virtual host `<host>` with one route `default`: no match conditions, Istio's default retries, no timeout. */
function defaultVirtualHost(host: string, options: BuildProxyConfigOptions): VirtualHost {
  const match: CompiledMatch = {
    name: undefined,
    uri: undefined,
    scheme: undefined,
    method: undefined,
    authority: undefined,
    headers: [],
    queryParams: [],
    port: undefined,
    sourceLabels: [],
    sourceNamespace: undefined,
    gateways: meshOnly,
  };
  const route: CompiledRoute = {
    type: "route",
    name: "default",
    routeIndex: 0,
    matchIndex: 0,
    // No VirtualService: the virtual host's own name stands in (Envoy names it `<host>:<port>`).
    virtualService: host,
    match,
    action: {
      type: "forward",
      destinations: [
        {
          host,
          subset: undefined,
          // Unset: the cluster is the one of the listener port (see resolve-cluster.ts).
          port: undefined,
          cluster: `outbound|||${host}`,
          subsetLabels: {},
          weight: 100,
          cumulativeWeight: 100,
          requestHeaders: undefined,
          responseHeaders: undefined,
        },
      ],
      totalWeight: 100,
    },
    rewrite: undefined,
    requestHeaders: undefined,
    responseHeaders: undefined,
    timeoutMs: undefined,
    retries: compileRetryPolicy(undefined),
    fault: undefined,
    mirrors: [],
    cors: undefined,
  };
  return { name: host, domains: domainAliases(host, options.namespace, options.domainSuffix), routes: [route], matches: [match] };
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
