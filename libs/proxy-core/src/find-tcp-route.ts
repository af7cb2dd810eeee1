// The per-connection decision for raw TCP (and unterminated TLS): which route of a TcpRouteTable
// takes a connection, and which weighted destination and cluster it goes to. Pure; the
// randomness of the weighted choice is passed in. First match wins (Istio: "the first rule
// matching an incoming request is used"; matches inside a route are alternatives).
import { cidrContains, formatIp, parseIp } from "./parse-cidr.ts";
import { coversHost } from "./compile-tcp-route-table.ts";
import type { TcpDestination, TcpHost, TcpMatch, TcpRoute, TcpRouteTable } from "./tcp-route-table.ts";

/** What route matching knows of a new connection. */
export interface TcpRouteRequest {
  /** Host addressed (CONNECT authority or bound service), without port; any case. */
  readonly host: string;
  /** Port addressed: the service port (Istio matches `port` against the listener's port). */
  readonly port: number;
  readonly sourceLabels: Readonly<Record<string, string | undefined>>;
  readonly sourceNamespace: string | undefined;
  /** Destination IP of the connection, when known (original destination, or an IP authority); routes with destinationSubnets need it. */
  readonly destinationIp?: string | undefined;
  /** TLS SNI, when the first bytes were a ClientHello with server_name; TLS routes match only with one. */
  readonly sni?: string | undefined;
}

/**
 * - `route`: a route took the connection; pick a destination with pickTcpDestination.
 * - `default`: the host is known but no route matched (or it has none): Istio's default cluster.
 * - `no-host`: neither a service nor a VirtualService has the host: passthrough (ALLOW_ANY) or refuse (REGISTRY_ONLY).
 */
export type TcpRouteDecision =
  | { readonly type: "route"; readonly route: TcpRoute; readonly host: string }
  | { readonly type: "default"; readonly cluster: string; readonly host: string }
  | { readonly type: "no-host" };

const noHost: TcpRouteDecision = Object.freeze({ type: "no-host" });

/** The route, default cluster or absence of a host for `request`. */
export function findTcpRoute(table: TcpRouteTable, request: TcpRouteRequest): TcpRouteDecision {
  const host = request.host.toLowerCase();
  const address = request.destinationIp === undefined ? undefined : parseIp(request.destinationIp);
  const entry = table.exact.get(host) ?? (address === undefined ? undefined : byAddress(table, address));
  if (entry) {
    const routes = entry.routes;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i] as TcpRoute;
      if (matchesConnection(route, request, address)) return { type: "route", route, host: entry.name };
    }
    return { type: "default", cluster: `outbound|${request.port}||${entry.name}`, host: entry.name };
  }
  let covered = false;
  // Two passes keep Istio's order: every TLS chain before every TCP chain.
  for (const type of ["tls", "tcp"] as const) {
    for (const w of table.wildcards) {
      if (!coversHost(w.suffix, host)) continue;
      covered = true;
      for (const route of w.routes) {
        if (route.type === type && matchesConnection(route, request, address)) return { type: "route", route, host };
      }
    }
  }
  return covered ? { type: "default", cluster: `outbound|${request.port}||${host}`, host } : noHost;
}

/** The host whose virtual address (or address block) the destination is. */
function byAddress(table: TcpRouteTable, address: readonly number[]): TcpHost | undefined {
  const exact = table.addresses?.get(formatIp(address));
  if (exact !== undefined) return exact;
  for (const block of table.addressBlocks ?? []) if (cidrContains(block.cidr, address)) return block.host;
  return undefined;
}

/** Whether the route's match (none: every connection) holds for the connection. */
export function matchesConnection(route: TcpRoute, request: TcpRouteRequest, address: readonly number[] | undefined): boolean {
  const sni = request.sni;
  if (route.type === "tls" && sni === undefined) return false;
  const match = route.match;
  if (!match) return true;
  return matchesL4(match, request, address) && (match.sniHosts === undefined || (sni !== undefined && matchesSni(match, sni)));
}

function matchesL4(match: TcpMatch, request: TcpRouteRequest, address: readonly number[] | undefined): boolean {
  if (match.port !== undefined && match.port !== request.port) return false;
  for (const [name, value] of match.sourceLabels) if (request.sourceLabels[name] !== value) return false;
  if (match.sourceNamespace !== undefined && match.sourceNamespace !== request.sourceNamespace) return false;
  if (match.destinationSubnets.length > 0) {
    if (!address) return false;
    if (!match.destinationSubnets.some((c) => cidrContains(c, address))) return false;
  }
  return true;
}

function matchesSni(match: TcpMatch, sni: string): boolean {
  const name = sni.toLowerCase();
  for (const h of match.sniHosts ?? []) {
    if (h.exact !== undefined ? h.exact === name : coversHost(h.suffix ?? "", name)) return true;
  }
  return false;
}

/**
 * The destination for `random` in [0, 1): destination i owns [cumulative(i-1), cumulative(i)) of
 * [0, totalWeight), so it is chosen with probability weight / totalWeight; weight 0 never.
 */
export function pickTcpDestination(route: TcpRoute, random: number): TcpDestination {
  const destinations = route.destinations;
  if (destinations.length === 1) return destinations[0] as TcpDestination;
  const target = random * route.totalWeight;
  let lo = 0;
  let hi = destinations.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((destinations[mid] as TcpDestination).cumulativeWeight > target) hi = mid;
    else lo = mid + 1;
  }
  return destinations[lo] as TcpDestination;
}

/** The cluster of `destination` for a connection addressed to `port`: Istio uses the listener's port when the destination names none. */
export function tcpClusterName(destination: TcpDestination, port: number): string {
  return destination.cluster ?? `outbound|${port}|${destination.subset ?? ""}|${destination.host}`;
}
