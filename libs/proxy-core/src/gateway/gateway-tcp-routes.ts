// The `tls` and `tcp` routes of the VirtualServices bound to each Gateway, for a gateway proxy's
// passthrough and TCP ports (Istio's gateway TCP/TLS filter chains): a passthrough connection is
// matched by its SNI (`tls` routes whose sniHosts admit it, of VirtualServices whose hosts cover
// it), a TCP connection by the port (`tcp` routes) among the VirtualServices whose hosts overlap
// the hosts of the server that took it (Istio's pickMatchingGatewayHosts). Unlike a sidecar, a
// gateway has no default route: a connection no route takes is refused. Pure.
import type { MeshResource } from "@meshwork/config";
import { compileTcpRouteTable } from "../compile-tcp-route-table.ts";
import { findTcpRoute, matchesConnection } from "../find-tcp-route.ts";
import { serverAdmitsHost } from "./gateway-listeners.ts";
import type { HostContext } from "../resolve-host.ts";
import type { TcpRoute, TcpRouteTable } from "../tcp-route-table.ts";

/** Each Gateway's (`namespace/name`) table of the routes bound to it. */
export function compileGatewayTcpRoutes(
  gateways: readonly MeshResource<"Gateway">[],
  virtualServices: readonly MeshResource<"VirtualService">[],
  destinationRules: readonly MeshResource<"DestinationRule">[],
  context: HostContext,
): ReadonlyMap<string, TcpRouteTable> {
  const bound = virtualServices.filter((vs) => (vs.spec.tls ?? []).length > 0 || (vs.spec.tcp ?? []).length > 0);
  const tables = new Map<string, TcpRouteTable>();
  if (bound.length === 0) return tables;
  for (const gateway of gateways) {
    const name = `${gateway.metadata.namespace ?? context.namespace}/${gateway.metadata.name}`;
    tables.set(name, compileTcpRouteTable(bound, destinationRules, { ...context, gateway: name }));
  }
  return tables;
}

/** What a gateway knows of a new connection. */
export interface GatewayConnection {
  /** The listener's port (matched against routes' `port`). */
  readonly port: number;
  /** The ClientHello's SNI on a passthrough port; undefined on a TCP port. */
  readonly sni: string | undefined;
  /** The gateway proxy's labels (matched against `sourceLabels`) and namespace. */
  readonly sourceLabels: Readonly<Record<string, string | undefined>>;
  readonly sourceNamespace: string | undefined;
  /**
   * The hosts of the Gateway server that took the connection (lowercase, `*`, `*.example.com`):
   * only `tcp` routes of VirtualService hosts overlapping one of them apply. Undefined: any.
   */
  readonly serverHosts?: readonly string[] | undefined;
}

/** The route that takes `connection`, or undefined (refused). */
export function findGatewayTcpRoute(table: TcpRouteTable, connection: GatewayConnection): TcpRoute | undefined {
  const request = { host: connection.sni ?? "", ...connection };
  if (connection.sni !== undefined) {
    const decision = findTcpRoute(table, request);
    return decision.type === "route" && decision.route.type === "tls" ? decision.route : undefined;
  }
  const seen = new Set<TcpRoute>();
  const take = (routes: readonly TcpRoute[]): TcpRoute | undefined => {
    for (const route of routes) {
      if (seen.has(route)) continue;
      seen.add(route);
      if (route.type === "tcp" && matchesConnection(route, request, undefined)) return route;
    }
    return undefined;
  };
  const serverHosts = connection.serverHosts;
  for (const host of table.exact.values()) {
    const route = serverHosts === undefined || serverAdmitsHost(serverHosts, host.name) ? take(host.routes) : undefined;
    if (route) return route;
  }
  for (const wildcard of table.wildcards) {
    const route = serverHosts === undefined || serverHosts.some((pattern) => overlapsWildcard(pattern, wildcard.suffix)) ? take(wildcard.routes) : undefined;
    if (route) return route;
  }
  return undefined;
}

/**
 * Whether a server host pattern overlaps a wildcard VirtualService host (`suffix` `.example.com`
 * for `*.example.com`, "" for `*`), as Istio's host.Name.Matches: either side covers the other.
 */
function overlapsWildcard(pattern: string, suffix: string): boolean {
  if (pattern === "*" || suffix === "") return true;
  return pattern.startsWith("*.") ? pattern.slice(1).endsWith(suffix) || suffix.endsWith(pattern.slice(1)) : pattern.endsWith(suffix);
}
