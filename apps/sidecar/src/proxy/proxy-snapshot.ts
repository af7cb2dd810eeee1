// The config one listener serves with: route table and live clusters, swapped as a whole when a
// new config arrives. A request keeps the snapshot it started with, so in-flight requests finish
// on the old config while new ones use the new one.
import type { RouteDestination, RouteTable, TcpRouteTable } from "@meshwork/proxy-core";
import type { ClusterRuntime } from "./cluster-runtime.ts";

/** Cluster runtimes by name. Built on first use: a proxy configured with thousands of services only pays for those it calls. */
export interface ClusterLookup {
  get(name: string): ClusterRuntime | undefined;
  /** The runtimes built so far (admin pages, outlier timers). */
  built(): IterableIterator<ClusterRuntime>;
  /** The runtime if it was built, without building it. */
  peek(name: string): ClusterRuntime | undefined;
}

export interface ProxySnapshot {
  readonly version: string;
  readonly routeTable: RouteTable;
  /** Routes for CONNECT tunnels and TCP listeners. */
  readonly tcpRoutes: TcpRouteTable;
  /** Gateway the listener matches routes for: `mesh` for a sidecar, `namespace/name` for a gateway. */
  readonly gateway: string;
  readonly namespace: string | undefined;
  readonly proxyLabels: Readonly<Record<string, string>>;
  readonly clusters: ClusterLookup;
  /** The cluster a route destination goes to on listener/authority port `port`; undefined = 503 NC. */
  clusterFor(destination: RouteDestination, port: number): ClusterRuntime | undefined;
  /**
   * Where a request for a host no virtual host serves goes (Istio's outboundTrafficPolicy
   * ALLOW_ANY: the PassthroughCluster to the authority itself); undefined = 404 NR (REGISTRY_ONLY).
   */
  passthrough(authority: string, port: number): ClusterRuntime | undefined;
}
