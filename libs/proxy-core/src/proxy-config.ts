// The configuration one sidecar runs on, built from Istio resources by buildProxyConfig(): the
// route table, the clusters (Envoy's name for "a destination with its endpoints and policies")
// and the ports the proxy serves. Plain data, computed once per config and never mutated; the
// per-request path reads these fields as they are (the balancer kind and hash policy are already
// chosen, defaults already applied).
import type { MeshResource } from "@meshwork/config";
import type { ConnectionPoolSpec } from "./circuit-breaker.ts";
import type { BalancerKind } from "./create-load-balancer.ts";
import type { Endpoint } from "./endpoint.ts";
import type { GatewayServerTls } from "./gateway/gateway-listeners.ts";
import type { EgressListener } from "./proxy-model/sidecar-egress-listeners.ts";
import type { HashPolicy } from "./hash-policy.ts";
import type { RegionFailover } from "./locality-priorities.ts";
import type { OutlierSettings } from "./outlier-detector.ts";
import type { RouteTable } from "./route-table.ts";
import type { TcpRouteTable } from "./tcp-route-table.ts";
import type { ResolvedTelemetry } from "./telemetry/resolve-telemetry.ts";

/**
 * The application protocol of a port: from the ServiceEntry port's `protocol`, else from the
 * Istio name prefix (`http-web`, `grpc`, `tcp-db`). HTTPS and TLS are `tls` (routed by SNI, not
 * terminated); TCP, MONGO, MYSQL and REDIS are `tcp`; anything else (UDP, no hint) is `unknown`
 * (Istio sniffs the protocol).
 */
export type ClusterProtocol = "http" | "http2" | "grpc" | "tcp" | "tls" | "unknown";

/** One endpoint of a cluster: proxy-core's Endpoint plus where to connect and the labels subsets select by. */
export interface ClusterEndpoint extends Endpoint {
  /**
   * IP address, DNS name (DNS resolution: the adapter resolves it) or `unix://` path, as written
   * in the ServiceEntry endpoint or WorkloadEntry. `address` is `host:port` (`[v6]:port`).
   */
  readonly host: string;
  /** Port on the endpoint: the WorkloadEntry's `ports[<service port name>]`, else the service port's targetPort, else its number; 0 for unix sockets. */
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
  /** `WorkloadEntry <ns>/<name>` or `ServiceEntry <ns>/<name> endpoints[i]` or `ServiceEntry <ns>/<name> host` (DNS): for logs and admin pages. */
  readonly origin: string;
}

/**
 * How the cluster's endpoints are found: `static` (the IPs listed), `dns` (resolve every endpoint
 * host, use all answers), `dns-round-robin` (resolve, use the first answer per connection),
 * `original-destination` (ServiceEntry resolution NONE or loadBalancer PASSTHROUGH: connect to
 * the address the caller dialled; `endpoints` is empty).
 */
export type EndpointDiscovery = "static" | "dns" | "dns-round-robin" | "original-destination";

/**
 * DestinationRule localityLbSetting after defaults. Istio's mesh config turns locality load
 * balancing on by default, but it only takes effect with outlierDetection (needed to notice a
 * failed locality): so this is set whenever the policy has outlierDetection, unless the rule says
 * `enabled: false`; undefined otherwise (plain balancing over all endpoints).
 */
export interface LocalityLbSettings {
  /** Region failover order (`from` region → `to` region). */
  readonly failover: readonly RegionFailover[];
  /** Explicit weights: from locality (trailing `*` wildcard) → destination locality → weight. */
  readonly distribute: readonly { readonly from: string; readonly to: Readonly<Record<string, number>> }[];
  /** Ordered labels (`key` or `key=value`) ranking endpoints for failover. */
  readonly failoverPriority: readonly string[];
}

/** TLS the proxy originates towards the cluster (DestinationRule `tls`). */
export interface ClusterTls {
  readonly mode: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  /**
   * SNI to send: the rule's `sni`; for ISTIO_MUTUAL without one, Istio's
   * `outbound_.<port>_.<subset>_.<host>`; otherwise undefined (the adapter uses the request's host).
   */
  readonly sni: string | undefined;
  /** Accepted server SANs: the rule's, else the ServiceEntry's `subjectAltNames`; empty = not checked beyond the CA. */
  readonly subjectAltNames: readonly string[];
  /** File paths (SIMPLE / MUTUAL), or a secret name replacing them. */
  readonly caCertificates: string | undefined;
  readonly clientCertificate: string | undefined;
  readonly privateKey: string | undefined;
  readonly credentialName: string | undefined;
  readonly insecureSkipVerify: boolean;
}

/** One Envoy-style cluster: a service port (optionally narrowed to a subset) with its endpoints and merged traffic policy. */
export interface ClusterSpec {
  /** Istio's name: `outbound|<port>|<subset>|<host>` (`outbound|9080||reviews.default.svc.cluster.local` without a subset). */
  readonly name: string;
  /** The service host, lowercase, as the ServiceEntry wrote it. */
  readonly host: string;
  /** The service port number (not the target port). */
  readonly port: number;
  /** The service port's name (`http-web`), for protocol hints and WorkloadEntry `ports`. */
  readonly portName: string;
  readonly subset: string | undefined;
  /** The subset's label selector (`{}` for the whole service); endpoints are already filtered by it. */
  readonly subsetLabels: Readonly<Record<string, string>>;
  readonly protocol: ClusterProtocol;
  readonly discovery: EndpointDiscovery;
  /** In the order of the ServiceEntry (endpoints, then selected WorkloadEntries in input order). */
  readonly endpoints: readonly ClusterEndpoint[];
  /** Algorithm after Istio's defaults (unset → least-request; consistentHash → ring hash unless maglev). */
  readonly balancer: BalancerKind;
  /** Request key of a consistent-hash balancer; undefined for the others (and for a consistentHash that names no key). */
  readonly hashPolicy: HashPolicy | undefined;
  readonly locality: LocalityLbSettings | undefined;
  /** Circuit-breaker limits (CircuitBreaker's input); `{}` = unlimited. */
  readonly connectionPool: ConnectionPoolSpec;
  /** Outlier detection after Istio's defaults; undefined when the policy sets no outlierDetection (Istio then never ejects). */
  readonly outlier: OutlierSettings | undefined;
  /** Undefined when no DestinationRule sets `tls`: the adapter applies auto mTLS (ISTIO_MUTUAL to mesh workloads, plain text otherwise). */
  readonly tls: ClusterTls | undefined;
  /** TCP connect timeout: connectionPool.tcp.connectTimeout, Istio's default 10 s. */
  readonly connectTimeoutMs: number;
  /** Close an upstream HTTP connection idle this long: connectionPool.http.idleTimeout, default 1 h. */
  readonly idleTimeoutMs: number;
  /** Close an upstream TCP connection without traffic this long: connectionPool.tcp.idleTimeout, default 1 h; 0 = never. */
  readonly tcpIdleTimeoutMs: number;
  /** Maximum lifetime of an upstream connection; undefined = unlimited. */
  readonly maxConnectionDurationMs: number | undefined;
  /**
   * Whether HTTP/1.1 requests go upstream as HTTP/2: true for http2/grpc ports (whatever
   * h2UpgradePolicy says, as in Istio), for ports whose DestinationRule says h2UpgradePolicy
   * UPGRADE, and for HTTP ports when MeshConfig's h2UpgradePolicy is UPGRADE and the rule says
   * nothing or DEFAULT; false with useClientProtocol.
   */
  readonly upstreamHttp2: boolean;
  /** Keep the downstream HTTP version upstream (connectionPool.http.useClientProtocol). */
  readonly useClientProtocol: boolean;
  /** `namespace/name` of the DestinationRules merged into this cluster's policy (empty without one). */
  readonly destinationRules: readonly string[];
}

/** A port the proxy accepts traffic on for its own workload (Istio's inbound listener). */
export interface InboundPort {
  /** The service port number callers use. */
  readonly port: number;
  /** The port the application listens on (WorkloadEntry ports, else targetPort, else port). */
  readonly targetPort: number;
  readonly portName: string;
  readonly protocol: ClusterProtocol;
  /** Istio's inbound cluster name `inbound|<targetPort>||`. */
  readonly cluster: string;
  /** The service host the port belongs to (the first ServiceEntry selecting the workload). */
  readonly host: string;
  // A Sidecar resource's ingress listener (sidecarInboundPorts) sets the fields below; ports
  // derived from services have none of them but `connectionPool` (inboundConnectionPool).
  /** Where the sidecar listens for the port when not at targetPort: an ingress listener's port number (callers dial it; the application is at targetPort). */
  readonly listenPort?: number;
  /** The ingress listener's `bind` address; absent: the sidecar's own bind address. */
  readonly bind?: string;
  /**
   * The application's address for this port when not the sidecar's application host: the
   * defaultEndpoint's loopback IP (`127.0.0.1`, `::1`) or `unix:///path` (then targetPort is 0).
   */
  readonly endpointHost?: string;
  /** TLS the sidecar terminates on the port itself (the ingress listener's `tls`): mesh mutual TLS and PeerAuthentication do not apply. */
  readonly tls?: GatewayServerTls;
  /** Limits of the port's inbound cluster: the ingress listener's connectionPool, else the Sidecar's inboundConnectionPool. */
  readonly connectionPool?: ConnectionPoolSpec;
}

/** A host:port the outbound listener serves, so Host-based routing knows which ports exist. */
export interface ServicePort {
  readonly host: string;
  readonly port: number;
  readonly portName: string;
  readonly protocol: ClusterProtocol;
  /** `outbound|<port>||<host>`, the default cluster of this port. */
  readonly cluster: string;
  /** `namespace/name` of the ServiceEntry that defines it. */
  readonly serviceEntry: string;
  /**
   * The host's virtual addresses, as Istio's listeners and name table use them: the ServiceEntry's
   * `addresses` as written (IPs or CIDR blocks; a registry service's cluster IPs), or the ones
   * auto-allocated for it (autoAllocateServiceAddresses). TCP connections to them are this host's;
   * the sidecar's DNS proxy answers the host with the IPs among them. Absent: none.
   */
  readonly addresses?: readonly string[];
  /** Set when `addresses` were auto-allocated rather than written in the config. */
  readonly autoAllocated?: true;
}

/** Everything one proxy runs on. */
export interface ProxyConfig {
  /** Caller-chosen label of this config (a resourceVersion, a hash of the files); shown in admin and logs. */
  readonly version: string;
  /** Routes for gateway `mesh`: the VirtualServices' plus Istio's default route for each service host no VirtualService covers. */
  readonly routeTable: RouteTable;
  /** VirtualService `tcp` and `tls` routes (CONNECT tunnels, TCP listeners), with a default entry per service host. */
  readonly tcpRoutes: TcpRouteTable;
  /** By cluster name. */
  readonly clusters: ReadonlyMap<string, ClusterSpec>;
  readonly inbound: readonly InboundPort[];
  /** Every service port, in ServiceEntry order. */
  readonly services: readonly ServicePort[];
  /** HTTPLocalRateLimitPolicies of the proxy's namespace (compileRateLimits picks those selecting a listener). */
  readonly rateLimitPolicies: readonly MeshResource<"HTTPLocalRateLimitPolicy">[];
  // Security inputs (issue 7). Optional so that every producer of a ProxyConfig (buildProxyConfig,
  // the control plane's model) can fill them in its own time; absent means none / the default.
  /** The trust domain of the mesh's SPIFFE IDs (`cluster.local` when absent). */
  readonly trustDomain?: string;
  /** Istio's config root namespace (mesh-wide policies live there); `istio-system` when absent. */
  readonly rootNamespace?: string;
  /** PeerAuthentications of the proxy's namespace and of the root namespace, in input order (resolvePeerAuthentication picks). */
  readonly peerAuthentications?: readonly MeshResource<"PeerAuthentication">[];
  /** AuthorizationPolicies of the proxy's namespace and of the root namespace, in input order. */
  readonly authorizationPolicies?: readonly MeshResource<"AuthorizationPolicy">[];
  /** RequestAuthentications of the proxy's namespace and of the root namespace, in input order. */
  readonly requestAuthentications?: readonly MeshResource<"RequestAuthentication">[];
  /**
   * Secure naming: by service host, the SPIFFE IDs (or other SANs) a server of it may present
   * (ServiceEntry subjectAltNames, then `spiffe://<td>/ns/<ns>/sa/<serviceAccount>` of its
   * workloads). A host without an entry accepts any SVID of the trust bundle.
   */
  readonly serviceIdentities?: ReadonlyMap<string, readonly string[]>;
  /**
   * Auto mTLS by cluster name, per endpoint (same order as `endpoints`): whether the proxy
   * originates ISTIO_MUTUAL to it (it has a sidecar, `security.istio.io/tlsMode: istio`, and its
   * PeerAuthentication is not DISABLE). Only clusters without a DestinationRule `tls` are present.
   */
  readonly autoMtls?: ReadonlyMap<string, readonly boolean[]>;
  /** Every Gateway of the config: a proxy in router mode listens on the servers of those selecting it (gatewayListeners). */
  readonly gateways?: readonly MeshResource<"Gateway">[];
  /** Router mode: each Gateway's (`namespace/name`) `tls` / `tcp` routes, for its passthrough and TCP ports (compileGatewayTcpRoutes). */
  readonly gatewayTcpRoutes?: ReadonlyMap<string, TcpRouteTable>;
  /**
   * The proxy's effective Telemetry (access logs, tracing, metrics per side), resolved from the
   * mesh, namespace and workload Telemetries (resolveTelemetry); absent = none: the sidecar's flags decide.
   */
  readonly telemetry?: ResolvedTelemetry;
  /**
   * The Sidecar resource's egress listeners the sidecar opens itself (captureMode NONE or a bind:
   * sidecarEgressListeners), each with the service hosts it serves; HTTP ones route through their
   * own gateway of `routeTable`. Absent: none.
   */
  readonly egressListeners?: readonly EgressListener[];
  /**
   * The Sidecar resource's `outboundTrafficPolicy.mode` when it sets one (standalone mode): it
   * replaces the proxy's own setting (MeshConfig's role), as in Istio. Absent: the proxy's setting.
   */
  readonly outboundTrafficPolicy?: "ALLOW_ANY" | "REGISTRY_ONLY";
}
