// The compiled model of VirtualService `tcp` and `tls` routes for one proxy and gateway: plain
// data built once per config by compileTcpRouteTable() and read per connection by findTcpRoute().
import type { Cidr } from "./parse-cidr.ts";

/** One destination of a TCP/TLS route with its share of the connections. */
export interface TcpDestination {
  /** Fully qualified host, lowercase. */
  readonly host: string;
  readonly subset: string | undefined;
  /** The destination's port; undefined = the port the connection was addressed to (Istio: the listener's service port). */
  readonly port: number | undefined;
  /** `outbound|<port>|<subset>|<host>` when the port is set; undefined otherwise (see tcpClusterName). */
  readonly cluster: string | undefined;
  /** The subset's labels; `{}` without a subset; undefined when no DestinationRule defines the subset. */
  readonly subsetLabels: Readonly<Record<string, string>> | undefined;
  readonly weight: number;
  /** Sum of the weights of this and the earlier destinations (pickTcpDestination's search key). */
  readonly cumulativeWeight: number;
}

/** One L4MatchAttributes / TLSMatchAttributes, compiled. Every set condition must hold. */
export interface TcpMatch {
  readonly port: number | undefined;
  readonly sourceLabels: readonly (readonly [name: string, value: string])[];
  readonly sourceNamespace: string | undefined;
  /** Empty = any destination address; otherwise the connection's destination IP must lie in one. */
  readonly destinationSubnets: readonly Cidr[];
  /**
   * TLS routes only: SNI values, lowercase; `*.example.com` is kept as the suffix `.example.com`
   * and `*` as "". Undefined for TCP routes.
   */
  readonly sniHosts: readonly { readonly exact: string | undefined; readonly suffix: string | undefined }[] | undefined;
}

/** One (TCPRoute or TLSRoute, match) pair, in the VirtualService's order (Istio's filter chains). */
export interface TcpRoute {
  readonly type: "tcp" | "tls";
  /** `<vs-namespace>/<vs-name> tcp[<i>]` (or `tls[<i>]`). */
  readonly name: string;
  readonly virtualService: string;
  readonly routeIndex: number;
  /** Index of the match in the route's list; 0 for a route without matches. */
  readonly matchIndex: number;
  /** Undefined: the route has no match list and takes every connection. */
  readonly match: TcpMatch | undefined;
  /** At least one destination. */
  readonly destinations: readonly TcpDestination[];
  readonly totalWeight: number;
}

/** The routes of one service host: every VirtualService covering it, in input order. */
export interface TcpHost {
  /** The FQDN connections to any of this host's aliases are attributed to (default clusters use it). */
  readonly name: string;
  /** TLS routes first (they apply only when the connection carries an SNI), then TCP routes. */
  readonly routes: readonly TcpRoute[];
}

/** VirtualService `tcp`/`tls` routes for one gateway (`mesh` for a sidecar). */
export interface TcpRouteTable {
  readonly gateway: string;
  /** Lowercase domain (FQDN and its short aliases, no port) → host. Hosts named by services only have no routes. */
  readonly exact: ReadonlyMap<string, TcpHost>;
  /** Wildcard VirtualService hosts in input order: `*.example.com` as suffix `.example.com`, `*` as "". */
  readonly wildcards: readonly { readonly suffix: string; readonly routes: readonly TcpRoute[] }[];
  /**
   * Service virtual addresses (ServicePort.addresses: ServiceEntry `addresses`, cluster IPs,
   * auto-allocated ones), canonical text (formatIp) → host: a connection to one is the host's, as
   * Istio's listener on `<address>:<port>` makes it. Absent or empty: none.
   */
  readonly addresses?: ReadonlyMap<string, TcpHost>;
  /** Addresses written as CIDR blocks, in service order: a destination IP inside one is the host's. */
  readonly addressBlocks?: readonly { readonly cidr: Cidr; readonly host: TcpHost }[];
  /** Problems found while compiling; the table is still usable. */
  readonly issues: readonly string[];
}
