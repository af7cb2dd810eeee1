// Istio's route for a service host no VirtualService covers: every request of every port to
// `outbound|<port>||<host>` (but the ports a Sidecar egress listener of its own does not import it on:
// there the host is treated as unknown). Used by buildProxyConfig (standalone) and assembleProxyConfig (pushed config).
import { clusterName } from "../compile-clusters.ts";
import { findVirtualHost } from "../find-route.ts";
import { compileRetryPolicy } from "../parse-retry-on.ts";
import type { ServicePort } from "../proxy-config.ts";
import { domainAliases, type HostContext } from "../resolve-host.ts";
import type { RetryPolicy } from "../parse-retry-on.ts";
import { noLabels, none } from "../shared-empties.ts";
import type { CompiledMatch, CompiledRoute, GatewayRoutes, RouteTable, VirtualHost } from "../route-table.ts";

/** `table` with a default virtual host for every service host of `services` that gateway `mesh` does not cover yet. */
export function addDefaultRoutes(table: RouteTable, services: readonly ServicePort[], context: HostContext, egressListenerPorts: readonly number[] = none): RouteTable {
  const mesh = table.gateways.get("mesh");
  const exact = new Map(mesh?.exact);
  const wildcards = [...(mesh?.wildcards ?? [])];
  const covered = (host: string): boolean => {
    if (!mesh) return false;
    if (host.startsWith("*")) return mesh.wildcards.some((w) => `*${w.suffix}` === host || w.suffix === "");
    return findVirtualHost(mesh, host) !== undefined;
  };
  const done = new Set<string>();
  // What every default route has equal, built once and shared: Istio's default retries, and the
  // match (no conditions) with its one-item list (routes are matched by index, not identity).
  const retries = compileRetryPolicy(undefined);
  const matches = [matchAll()];
  for (const service of services) {
    if (done.has(service.host)) continue;
    done.add(service.host);
    if (covered(service.host)) continue;
    const vhost = defaultVirtualHost(service.host, context, retries, matches);
    for (const domain of vhost.domains) {
      if (domain.startsWith("*")) {
        if (!wildcards.some((w) => `*${w.suffix}` === domain)) wildcards.push({ suffix: domain.slice(1), host: vhost });
      } else if (!exact.has(domain)) {
        exact.set(domain, vhost);
      }
    }
  }
  // A port with an egress listener of its own (Sidecar egress `port`) imports only that listener's
  // hosts: Istio builds a route config per port, Meshwork's table is one for every port, so each
  // service host without that port gets `host:port` domains marked not imported there: findRoute
  // treats them as unknown hosts (the PassthroughCluster under ALLOW_ANY, 404 NR under REGISTRY_ONLY).
  if (egressListenerPorts.length > 0) {
    const portsByHost = new Map<string, Set<number>>();
    for (const service of services) portsByHost.set(service.host, (portsByHost.get(service.host) ?? new Set()).add(service.port));
    const notImported: VirtualHost = { name: "not imported on this port (Sidecar egress)", domains: [], routes: [], matches: [], isNotImported: true };
    for (const [host, ports] of portsByHost) {
      if (host.startsWith("*")) continue;
      for (const port of egressListenerPorts) {
        if (ports.has(port)) continue;
        for (const domain of domainAliases(host, context.namespace, context.domainSuffix)) if (!exact.has(`${domain}:${port}`)) exact.set(`${domain}:${port}`, notImported);
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
function defaultVirtualHost(host: string, context: HostContext, retries: RetryPolicy, matches: readonly CompiledMatch[]): VirtualHost {
  const match = matches[0] as CompiledMatch;
  const route: CompiledRoute = {
    type: "route",
    name: "default",
    routeIndex: 0,
    delegate: undefined,
    matchIndex: 0,
    virtualService: host,
    match,
    action: {
      type: "forward",
      destinations: [
        {
          host,
          subset: undefined,
          port: undefined,
          cluster: clusterName(undefined, undefined, host),
          subsetLabels: noLabels,
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
    retries,
    fault: undefined,
    mirrors: none,
    cors: undefined,
  };
  return { name: host, domains: domainAliases(host, context.namespace, context.domainSuffix), routes: [route], matches };
}

/** A match without conditions, on gateway `mesh`. */
function matchAll(): CompiledMatch {
  return {
    name: undefined,
    uri: undefined,
    scheme: undefined,
    method: undefined,
    authority: undefined,
    headers: none,
    queryParams: none,
    port: undefined,
    sourceLabels: none,
    sourceNamespace: undefined,
    gateways: meshOnly,
  };
}
