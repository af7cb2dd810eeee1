// The cluster a new TCP connection goes to, from the snapshot's TCP route table: the matched
// route's weighted destination, else the host's default cluster, else the PassthroughCluster
// (ALLOW_ANY) — or why there is none (NR: unknown host under REGISTRY_ONLY; NC: the route names
// a cluster that does not exist, e.g. an undefined subset).
import { findTcpRoute, pickTcpDestination, tcpClusterName, type TcpRoute, type TcpRouteTable } from "@meshwork/proxy-core";
import type { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import type { ClusterLookup } from "../proxy/proxy-snapshot.ts";
import { formatAddress } from "../proxy/socket-address.ts";

/** The part of the lead's ProxySnapshot TCP routing reads, plus the compiled TCP route table. */
export interface TcpSnapshot {
  readonly tcpRoutes: TcpRouteTable;
  readonly namespace: string | undefined;
  readonly proxyLabels: Readonly<Record<string, string>>;
  readonly clusters: Pick<ClusterLookup, "get">;
  /** PassthroughCluster for an unknown `host:port` (ALLOW_ANY); undefined under REGISTRY_ONLY. */
  passthrough(authority: string, port: number): ClusterRuntime | undefined;
}

/** Where a connection is addressed. */
export interface TcpTarget {
  /** Host without port (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Destination IP when known (an IP authority; the original destination with iptables capture). */
  readonly destinationIp?: string | undefined;
  readonly sni?: string | undefined;
}

export type TcpChoice =
  | {
      readonly type: "cluster";
      readonly cluster: ClusterRuntime;
      readonly routeName: string;
      /** The client's own TLS runs to the endpoint (AUTO_PASSTHROUGH): connect without the cluster's TLS origination. */
      readonly clientTls?: true;
    }
  | { readonly type: "refuse"; readonly flag: "NR" | "NC"; readonly status: 404 | 503; readonly routeName: string; readonly cluster: string };

/** Decides the cluster of one connection; `random` in [0, 1) picks among weighted destinations. */
export function chooseTcpCluster(snapshot: TcpSnapshot, target: TcpTarget, random: () => number): TcpChoice {
  const decision = findTcpRoute(snapshot.tcpRoutes, {
    host: target.host,
    port: target.port,
    sourceLabels: snapshot.proxyLabels,
    sourceNamespace: snapshot.namespace,
    destinationIp: target.destinationIp ?? (isIpLiteral(target.host) ? target.host : undefined),
    sni: target.sni,
  });
  const authority = formatAddress(target.host, target.port);
  if (decision.type === "route") return routeCluster(snapshot.clusters, decision.route, target.port, random);
  if (decision.type === "default") {
    const cluster = snapshot.clusters.get(decision.cluster);
    if (cluster) return { type: "cluster", cluster, routeName: "default" };
  }
  // A host (or a port of it) the registry does not serve: Istio's PassthroughCluster, or refuse.
  const passthrough = snapshot.passthrough(authority, target.port);
  if (passthrough) return { type: "cluster", cluster: passthrough, routeName: "allow_any" };
  return { type: "refuse", flag: "NR", status: 404, routeName: "", cluster: decision.type === "default" ? decision.cluster : "" };
}

/** The cluster of `route`'s (weighted) destination for a connection to `port`; NC when that cluster does not exist (e.g. an undefined subset). */
export function routeCluster(clusters: Pick<ClusterLookup, "get">, route: TcpRoute, port: number, random: () => number): TcpChoice {
  const destination = route.destinations.length === 1 ? route.destinations[0] : pickTcpDestination(route, random());
  const name = destination ? tcpClusterName(destination, port) : "";
  const cluster = clusters.get(name);
  if (!cluster) return { type: "refuse", flag: "NC", status: 503, routeName: route.name, cluster: name };
  return { type: "cluster", cluster, routeName: route.name };
}

function isIpLiteral(host: string): boolean {
  return host.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}
