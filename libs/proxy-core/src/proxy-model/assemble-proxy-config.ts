// The proxy side of the proxy model: a full set of pushed resources back into the ProxyConfig the
// sidecar runs on. Routes arrive as data (VirtualServices + DestinationRules) and are compiled
// here, once per push, as buildProxyConfig compiles them in standalone mode.
import { compileRouteTable } from "../compile-route-table.ts";
import { addressesByHost } from "../addresses-by-host.ts";
import { compileTcpRouteTable } from "../compile-tcp-route-table.ts";
import { autoAllocateServiceAddresses } from "../dns/auto-allocate-addresses.ts";
import { compileGatewayTcpRoutes } from "../gateway/gateway-tcp-routes.ts";
import type { ClusterSpec, ProxyConfig } from "../proxy-config.ts";
import { createClusterResolver } from "../resolve-cluster.ts";
import { addDefaultRoutes } from "./add-default-routes.ts";
import { egressListenerRoutes, egressListenersFor } from "./sidecar-egress-listeners.ts";
import type { ListenerBody, ProxyResources } from "./proxy-resources.ts";

export interface AssembleProxyConfigOptions {
  /** The proxy's namespace (short names and aliases resolve in it). */
  readonly namespace: string;
  readonly domainSuffix: string;
  /** Label of the assembled config (e.g. the versions of the types it was built from). */
  readonly version: string;
  /** Give pushed services without addresses one (BuildProxyConfigOptions.autoAllocateAddresses). Default false. */
  readonly autoAllocateAddresses?: boolean | undefined;
}

export interface AssembledProxyConfig {
  readonly config: ProxyConfig;
  /** Problems that leave the config usable (a cluster without endpoints resource, shadowed hosts, unknown subsets). */
  readonly issues: readonly string[];
}

/**
 * Builds the ProxyConfig from `resources` (every type present; an absent Endpoints resource
 * means no endpoints). A cluster's endpoints are those of the Endpoints resource of the same name.
 */
export function assembleProxyConfig(resources: ProxyResources, options: AssembleProxyConfigOptions): AssembledProxyConfig {
  const issues: string[] = [];
  const endpointsByCluster = new Map(resources.endpoints.map((e) => [e.body.cluster, e.body.endpoints]));
  const autoMtls = new Map<string, readonly boolean[]>();
  for (const e of resources.endpoints) if (e.body.autoMtls !== undefined) autoMtls.set(e.body.cluster, e.body.autoMtls);
  const clusters = new Map<string, ClusterSpec>();
  for (const { name, body } of resources.cluster) {
    const endpoints = endpointsByCluster.get(name);
    if (endpoints === undefined) issues.push(`cluster "${name}" has no Endpoints resource; it has no endpoints`);
    clusters.set(name, { ...body, endpoints: endpoints ?? [] });
  }
  const listeners = resources.listener.map((l) => l.body);
  const inbound = listeners.find((l): l is Extract<ListenerBody, { type: "inbound" }> => l.type === "inbound");
  const outbound = listeners.find((l): l is Extract<ListenerBody, { type: "outbound" }> => l.type === "outbound");
  const pushed = outbound?.services ?? [];
  const allocated = options.autoAllocateAddresses === true ? autoAllocateServiceAddresses(pushed, clusters) : undefined;
  const services = allocated?.services ?? pushed;
  // A sidecar has the `mesh` table; a gateway one per Gateway, whose VirtualServices may repeat.
  const virtualServices = uniqueByName(resources.routeTable.flatMap((r) => r.body.virtualServices));
  const destinationRules = uniqueByName(resources.routeTable.flatMap((r) => r.body.destinationRules));
  const gateways = resources.routeTable.flatMap((r) => (r.body.definition === undefined ? [] : [r.body.definition]));
  const context = { namespace: options.namespace, domainSuffix: options.domainSuffix };
  const compiled = compileRouteTable(virtualServices, destinationRules, context);
  const egressListeners = egressListenersFor(outbound?.egressListeners, services);
  const routeTable = resources.routeTable.some((r) => r.body.gateway === "mesh") ? egressListenerRoutes(addDefaultRoutes(compiled, services, context, outbound?.egressListenerPorts), egressListeners, context) : compiled;
  const tcpRoutes = compileTcpRouteTable(virtualServices, destinationRules, { ...context, serviceHosts: services.map((s) => s.host), serviceAddresses: addressesByHost(services) });
  const config: ProxyConfig = {
    version: options.version,
    routeTable,
    tcpRoutes,
    clusters,
    inbound: inbound?.ports ?? [],
    services,
    rateLimitPolicies: inbound?.rateLimitPolicies ?? [],
    trustDomain: inbound?.trustDomain ?? "cluster.local",
    rootNamespace: inbound?.rootNamespace ?? "istio-system",
    peerAuthentications: inbound?.security.peerAuthentications ?? [],
    authorizationPolicies: inbound?.security.authorizationPolicies ?? [],
    requestAuthentications: inbound?.security.requestAuthentications ?? [],
    serviceIdentities: new Map(Object.entries(outbound?.serviceIdentities ?? {})),
    autoMtls,
    gateways,
    gatewayTcpRoutes: compileGatewayTcpRoutes(gateways, virtualServices, destinationRules, context),
    ...(inbound?.telemetry !== undefined ? { telemetry: inbound.telemetry } : {}),
    ...(egressListeners.length > 0 ? { egressListeners } : {}),
  };
  issues.push(...routeTable.issues, ...tcpRoutes.issues, ...createClusterResolver(config).issues, ...(allocated?.issues ?? []));
  return { config, issues };
}

/** The resources in order, each `namespace/name` once (the first occurrence). */
function uniqueByName<R extends { readonly metadata: { readonly name: string; readonly namespace?: string | undefined } }>(list: readonly R[]): R[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const key = `${r.metadata.namespace ?? ""}/${r.metadata.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
