// Schema of `networking.istio.io` DestinationRule: what happens to traffic for a host after routing
// (load balancing, connection pools, outlier detection, client TLS), per host, subset and port.
// Field names follow istio/api networking/v1alpha3/destination_rule.proto as users write them in YAML.
// `ConnectionPoolSettings` is shared with the Sidecar schema (inbound connection pools).
import { Type } from "@sinclair/typebox";
import { closed, mapOf, stringEnum, Duration, PortNumber, PortSelector, WorkloadSelector, type Decoded } from "./common.ts";

const uint32Max = 4_294_967_295;
const int32Max = 2_147_483_647;

/** A protobuf uint32 count. */
function UInt32(description: string) {
  return Type.Integer({ minimum: 0, maximum: uint32Max, description });
}

/** A protobuf int32 that Istio rejects when negative (connection pool limits). */
function NonNegativeInt32(description: string) {
  return Type.Integer({ minimum: 0, maximum: int32Max, description });
}

// --- load balancing -------------------------------------------------------------------------

/** `LoadBalancerSettings.SimpleLB`. */
export const SimpleLB = stringEnum(["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"], {
  description:
    "A load balancing algorithm that needs no tuning: UNSPECIFIED (Istio picks), LEAST_CONN (deprecated, use LEAST_REQUEST), " +
    "RANDOM, PASSTHROUGH (forward to the caller's original destination IP, no balancing), ROUND_ROBIN, LEAST_REQUEST.",
});
export type SimpleLB = Decoded<typeof SimpleLB>;

/** `ConsistentHashLB.HTTPCookie.Attribute`. */
export const HTTPCookieAttribute = closed(
  {
    name: Type.String({ minLength: 1, description: "Name of the cookie attribute (e.g. SameSite, Secure)." }),
    value: Type.Optional(Type.String({ description: "Value of the attribute; omitted for flag attributes such as Secure." })),
  },
  { description: "An extra attribute set on a cookie the proxy generates." },
);
export type HTTPCookieAttribute = Decoded<typeof HTTPCookieAttribute>;

/** `ConsistentHashLB.HTTPCookie`. */
export const HTTPCookie = closed(
  {
    name: Type.String({ minLength: 1, description: "Name of the cookie whose value is hashed." }),
    path: Type.Optional(Type.String({ description: "Path set on the cookie when the proxy generates it." })),
    ttl: Type.Optional(
      Duration({
        description:
          "Lifetime of the cookie. When set, the proxy generates the cookie if the request has none; 0s makes it a session cookie.",
      }),
    ),
    attributes: Type.Optional(Type.Array(HTTPCookieAttribute, { description: "Extra attributes of a generated cookie." })),
  },
  { description: "An HTTP cookie used as the hash key of the consistent-hash load balancer." },
);
export type HTTPCookie = Decoded<typeof HTTPCookie>;

/** `ConsistentHashLB.RingHash`. */
export const RingHash = closed(
  {
    minimumRingSize: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Minimum number of virtual nodes on the hash ring (Envoy uses 1024 when unset); larger rings spread load more evenly.",
      }),
    ),
  },
  { description: "Ring hash (ketama) consistent hashing." },
);
export type RingHash = Decoded<typeof RingHash>;

/** `ConsistentHashLB.MagLev`. */
export const MagLev = closed(
  {
    tableSize: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Maglev lookup table size; a prime below 5000011 (Envoy uses 65537 when unset). Larger tables move fewer keys when hosts change.",
      }),
    ),
  },
  { description: "Maglev consistent hashing." },
);
export type MagLev = Decoded<typeof MagLev>;

/** `LoadBalancerSettings.ConsistentHashLB`: soft session affinity by header, cookie, source IP or query parameter. */
export const ConsistentHashLB = closed(
  {
    httpHeaderName: Type.Optional(Type.String({ minLength: 1, description: "Hash on the value of this HTTP header." })),
    httpCookie: Type.Optional(HTTPCookie),
    useSourceIp: Type.Optional(Type.Boolean({ description: "Hash on the source IP address (works for TCP and HTTP)." })),
    httpQueryParameterName: Type.Optional(
      Type.String({ minLength: 1, description: "Hash on the value of this HTTP query parameter." }),
    ),
    ringHash: Type.Optional(RingHash),
    maglev: Type.Optional(MagLev),
    minimumRingSize: Type.Optional(
      Type.Integer({ minimum: 0, description: "Deprecated: use ringHash.minimumRingSize. Minimum number of virtual nodes on the hash ring." }),
    ),
  },
  {
    description:
      "Consistent-hash load balancing: requests with the same key go to the same host while the set of hosts does not change. " +
      "Exactly one hash key (httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName); optionally ringHash or maglev (ring hash by default).",
    exclusive: [
      ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"],
      ["ringHash", "maglev"],
    ],
  },
);
export type ConsistentHashLB = Decoded<typeof ConsistentHashLB>;

/** `LocalityLoadBalancerSetting.Distribute`. */
export const LocalityDistribute = closed(
  {
    from: Type.String({
      minLength: 1,
      description: "Originating locality as region/zone/sub-zone; a trailing `*` matches all below it (e.g. `us-west/zone1/*`).",
    }),
    to: mapOf(Type.Integer({ minimum: 0, maximum: uint32Max }), {
      description: "Destination localities and the share of traffic (weights summing to 100) each receives; unlisted localities get none.",
    }),
  },
  { description: "How traffic from one locality is split across destination localities." },
);
export type LocalityDistribute = Decoded<typeof LocalityDistribute>;

/** `LocalityLoadBalancerSetting.Failover`. */
export const LocalityFailover = closed(
  {
    from: Type.String({ minLength: 1, description: "Originating region." }),
    to: Type.String({ minLength: 1, description: "Region that takes the traffic when endpoints in `from` are unhealthy." }),
  },
  { description: "The region traffic fails over to when the endpoints of a region become unhealthy." },
);
export type LocalityFailover = Decoded<typeof LocalityFailover>;

/** Istio `LocalityLoadBalancerSetting`. */
export const LocalityLoadBalancerSetting = closed(
  {
    distribute: Type.Optional(
      Type.Array(LocalityDistribute, { description: "Explicit traffic weights per originating locality; not with failover." }),
    ),
    failover: Type.Optional(
      Type.Array(LocalityFailover, {
        description: "Region-to-region failover order; needs outlierDetection to detect unhealthy endpoints. Not with distribute.",
      }),
    ),
    failoverPriority: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          "Ordered labels (`key` or `key=value`) ranking endpoints for priority failover, e.g. topology.istio.io/network, " +
          "topology.kubernetes.io/region, topology.kubernetes.io/zone. Needs outlierDetection.",
      }),
    ),
    enabled: Type.Optional(
      Type.Boolean({ description: "Turns locality load balancing on or off for this rule, overriding the mesh-wide setting." }),
    ),
  },
  {
    description:
      "Locality-aware load balancing: weight or fail over traffic across region/zone/sub-zone. Replaces the mesh-wide setting entirely.",
  },
);
export type LocalityLoadBalancerSetting = Decoded<typeof LocalityLoadBalancerSetting>;

/** Istio `WarmupConfiguration`. */
export const WarmupConfiguration = closed(
  {
    duration: Duration({ description: "How long a new endpoint stays in warmup, receiving a growing share of traffic." }),
    minimumPercent: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: "Share of its full weight (percent) a new endpoint starts with." }),
    ),
    aggression: Type.Optional(
      Type.Number({ minimum: 0, description: "Shape of the traffic ramp: 1 is linear, above 1 ramps up faster at first." }),
    ),
  },
  { description: "Slow start for new endpoints (ROUND_ROBIN and LEAST_REQUEST only)." },
);
export type WarmupConfiguration = Decoded<typeof WarmupConfiguration>;

/** Istio `LoadBalancerSettings`. */
export const LoadBalancerSettings = closed(
  {
    simple: Type.Optional(SimpleLB),
    consistentHash: Type.Optional(ConsistentHashLB),
    localityLbSetting: Type.Optional(LocalityLoadBalancerSetting),
    warmupDurationSecs: Type.Optional(
      Duration({
        description: "Deprecated: use warmup.duration. How long a new endpoint stays in warmup (ROUND_ROBIN and LEAST_REQUEST only).",
      }),
    ),
    warmup: Type.Optional(WarmupConfiguration),
  },
  {
    description: "The load balancing policy towards the endpoints of a destination: a simple algorithm or consistent hashing.",
    exclusive: [["simple", "consistentHash"]],
  },
);
export type LoadBalancerSettings = Decoded<typeof LoadBalancerSettings>;

// --- connection pool ------------------------------------------------------------------------

/** `ConnectionPoolSettings.TCPSettings.TcpKeepalive`. */
export const TcpKeepalive = closed(
  {
    probes: Type.Optional(UInt32("Unanswered keepalive probes before the connection is considered dead (OS default when unset; Linux 9).")),
    time: Type.Optional(Duration({ description: "Idle time before keepalive probes start (OS default when unset; Linux 7200s)." })),
    interval: Type.Optional(Duration({ description: "Time between keepalive probes (OS default when unset; Linux 75s)." })),
  },
  { description: "TCP keepalive (SO_KEEPALIVE) settings for upstream connections." },
);
export type TcpKeepalive = Decoded<typeof TcpKeepalive>;

/** `ConnectionPoolSettings.TCPSettings`. */
export const TCPSettings = closed(
  {
    maxConnections: Type.Optional(
      NonNegativeInt32("Maximum number of HTTP/1 and TCP connections to one destination host (unlimited, 2^32-1, when unset)."),
    ),
    connectTimeout: Type.Optional(
      Duration({ description: "TCP connect timeout, at least 1ms. Unset uses the mesh-wide connectTimeout (10s by default)." }),
    ),
    tcpKeepalive: Type.Optional(TcpKeepalive),
    maxConnectionDuration: Type.Optional(
      Duration({ description: "Maximum lifetime of a connection, at least 1ms; no limit when unset." }),
    ),
    idleTimeout: Type.Optional(
      Duration({ description: "Close a TCP connection after this long without bytes in either direction (1h when unset; 0s disables)." }),
    ),
  },
  { description: "Connection limits and timeouts common to TCP and HTTP upstream connections." },
);
export type TCPSettings = Decoded<typeof TCPSettings>;

/** `ConnectionPoolSettings.HTTPSettings.H2UpgradePolicy`. */
export const H2UpgradePolicy = stringEnum(["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"], {
  description: "Whether HTTP/1.1 connections to the destination are upgraded to HTTP/2: DEFAULT (mesh setting), DO_NOT_UPGRADE, UPGRADE.",
});
export type H2UpgradePolicy = Decoded<typeof H2UpgradePolicy>;

/** `ConnectionPoolSettings.HTTPSettings`. */
export const HTTPSettings = closed(
  {
    http1MaxPendingRequests: Type.Optional(
      NonNegativeInt32("Maximum requests queued while waiting for a connection from the pool (HTTP/1.1 and HTTP/2; unlimited when unset)."),
    ),
    http2MaxRequests: Type.Optional(
      NonNegativeInt32("Maximum active requests to a destination (HTTP/1.1 and HTTP/2; unlimited when unset)."),
    ),
    maxRequestsPerConnection: Type.Optional(
      NonNegativeInt32("Maximum requests per upstream connection; 1 disables keep-alive, 0 (unset) means unlimited."),
    ),
    maxRetries: Type.Optional(
      NonNegativeInt32("Maximum retries outstanding to all hosts of the destination at once (unlimited when unset)."),
    ),
    idleTimeout: Type.Optional(
      Duration({ description: "Close an upstream connection after this long without active requests, at least 1ms (1h when unset)." }),
    ),
    h2UpgradePolicy: Type.Optional(H2UpgradePolicy),
    useClientProtocol: Type.Optional(
      Type.Boolean({ description: "Use the client's HTTP version towards the destination; h2UpgradePolicy then has no effect." }),
    ),
    maxConcurrentStreams: Type.Optional(
      NonNegativeInt32("Maximum concurrent streams on one HTTP/2 connection (2^31-1 when unset)."),
    ),
  },
  { description: "Connection pool limits for HTTP/1.1, HTTP/2 and gRPC." },
);
export type HTTPSettings = Decoded<typeof HTTPSettings>;

/** Istio `ConnectionPoolSettings` (circuit breaking), per upstream host. Also used by Sidecar for inbound connections. */
export const ConnectionPoolSettings = closed(
  {
    tcp: Type.Optional(TCPSettings),
    http: Type.Optional(HTTPSettings),
  },
  { description: "Limits on connections and requests to each host of a destination (circuit breaking)." },
);
export type ConnectionPoolSettings = Decoded<typeof ConnectionPoolSettings>;

// --- outlier detection ----------------------------------------------------------------------

/** Istio `OutlierDetection`. */
export const OutlierDetection = closed(
  {
    consecutiveErrors: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: int32Max,
        description: "Deprecated: use consecutive5xxErrors or consecutiveGatewayErrors. Applies only when consecutive5xxErrors is unset.",
      }),
    ),
    splitExternalLocalOriginErrors: Type.Optional(
      Type.Boolean({
        description: "Count locally originated failures (connect failures, timeouts) separately from upstream status codes.",
      }),
    ),
    consecutiveLocalOriginFailures: Type.Optional(
      UInt32("Consecutive local-origin failures before ejection (5 when unset); needs splitExternalLocalOriginErrors: true."),
    ),
    consecutiveGatewayErrors: Type.Optional(
      UInt32("Consecutive gateway errors (502, 503, 504; connect failures for TCP) before ejection; 0 or unset disables."),
    ),
    consecutive5xxErrors: Type.Optional(
      // No `default`: Envoy applies 5 when unset, but the deprecated consecutiveErrors only takes effect while this is unset.
      UInt32("Consecutive 5xx errors (connect failures for TCP) before ejection; 5 when unset, 0 disables."),
    ),
    interval: Type.Optional(
      Duration({ default: "10s", description: "Time between ejection sweeps, at least 1ms." }),
    ),
    baseEjectionTime: Type.Optional(
      Duration({
        default: "30s",
        description: "Minimum ejection time, at least 1ms; a host stays out for this times the number of times it was ejected.",
      }),
    ),
    maxEjectionPercent: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 100, default: 10, description: "Maximum percentage of the hosts of the pool that can be ejected." }),
    ),
    minHealthPercent: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        default: 0,
        description: "Outlier detection pauses when fewer than this percentage of hosts are healthy; 0 never pauses it.",
      }),
    ),
  },
  { description: "Ejects hosts that keep failing from the load balancing pool for a while (passive health checking)." },
);
export type OutlierDetection = Decoded<typeof OutlierDetection>;

// --- TLS ------------------------------------------------------------------------------------

/** `ClientTLSSettings.TLSmode`. */
export const ClientTLSMode = stringEnum(["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"], {
  description:
    "How connections to the destination use TLS: DISABLE (plain text), SIMPLE (originate TLS), MUTUAL (TLS with a client certificate " +
    "you provide), ISTIO_MUTUAL (mTLS with Istio-issued certificates; leave the other fields empty).",
});
export type ClientTLSMode = Decoded<typeof ClientTLSMode>;

/** Istio `ClientTLSSettings`: TLS the proxy originates towards the destination. */
export const ClientTLSSettings = closed(
  {
    mode: Type.Optional(ClientTLSMode),
    clientCertificate: Type.Optional(
      Type.String({ description: "Path to the client certificate file; required for MUTUAL unless credentialName is set." }),
    ),
    privateKey: Type.Optional(
      Type.String({ description: "Path to the client private key file; required for MUTUAL unless credentialName is set." }),
    ),
    caCertificates: Type.Optional(
      Type.String({ description: "Path to CA certificates verifying the server certificate; the OS roots when unset." }),
    ),
    credentialName: Type.Optional(
      Type.String({
        description:
          "Name of a secret holding the client key, certificate and CA (and CRL); replaces the file paths. " +
          "Used by sidecars only when the rule has a workloadSelector, otherwise by gateways.",
      }),
    ),
    subjectAltNames: Type.Optional(
      Type.Array(Type.String(), {
        description: "Accepted subject alternative names of the server certificate; overrides those of the ServiceEntry.",
      }),
    ),
    sni: Type.Optional(Type.String({ description: "SNI presented in the TLS handshake; derived from the Host header when unset." })),
    insecureSkipVerify: Type.Optional(
      Type.Boolean({ description: "Skip verifying the server certificate's CA signature and SAN (false when unset)." }),
    ),
    caCrl: Type.Optional(
      Type.String({ description: "Path to a certificate revocation list used when verifying the server certificate." }),
    ),
  },
  { description: "TLS settings for connections to the destination (TLS origination, client certificates, verification)." },
);
export type ClientTLSSettings = Decoded<typeof ClientTLSSettings>;

// --- traffic policy -------------------------------------------------------------------------

/** `TrafficPolicy.PortTrafficPolicy`. */
export const PortTrafficPolicy = closed(
  {
    port: Type.Optional(PortSelector),
    loadBalancer: Type.Optional(LoadBalancerSettings),
    connectionPool: Type.Optional(ConnectionPoolSettings),
    outlierDetection: Type.Optional(OutlierDetection),
    tls: Type.Optional(ClientTLSSettings),
  },
  {
    description:
      "A traffic policy for one port of the destination. It replaces the destination-level policy for that port: omitted fields take their defaults, not the destination-level values.",
  },
);
export type PortTrafficPolicy = Decoded<typeof PortTrafficPolicy>;

/** `TrafficPolicy.TunnelSettings`. */
export const TunnelSettings = closed(
  {
    protocol: Type.Optional(
      stringEnum(["CONNECT", "POST"], {
        default: "CONNECT",
        description: "How the downstream connection is tunneled: HTTP CONNECT (default) or HTTP POST.",
      }),
    ),
    targetHost: Type.String({ minLength: 1, description: "FQDN or IP address the connection is tunneled to." }),
    targetPort: PortNumber({ minimum: 1, description: "Port the connection is tunneled to." }),
  },
  { description: "Tunnels TCP (or TLS) connections to the destination through an HTTP proxy; not for HTTP routes." },
);
export type TunnelSettings = Decoded<typeof TunnelSettings>;

/** `TrafficPolicy.ProxyProtocol`. */
export const ProxyProtocol = closed(
  {
    version: Type.Optional(
      stringEnum(["V1", "V2"], { default: "V1", description: "PROXY protocol version: V1 (text) or V2 (binary)." }),
    ),
  },
  { description: "Sends the HAProxy PROXY protocol header on upstream connections." },
);
export type ProxyProtocol = Decoded<typeof ProxyProtocol>;

/** `TrafficPolicy.RetryBudget`. */
export const RetryBudget = closed(
  {
    percent: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        description: "Concurrent retries allowed, as a percentage of active plus pending requests (Envoy uses 20 when unset).",
      }),
    ),
    minRetryConcurrency: Type.Optional(
      Type.Integer({ minimum: 0, maximum: uint32Max, default: 3, description: "Concurrent retries always allowed, whatever the percentage." }),
    ),
    budgetInterval: Type.Optional(
      Duration({
        description: "Window of recent requests the budget is computed over; unset or 0 counts only active and pending requests.",
      }),
    ),
  },
  { description: "Caps concurrent retries relative to the number of active requests, instead of a fixed number." },
);
export type RetryBudget = Decoded<typeof RetryBudget>;

/** Istio `TrafficPolicy`. */
export const TrafficPolicy = closed(
  {
    loadBalancer: Type.Optional(LoadBalancerSettings),
    connectionPool: Type.Optional(ConnectionPoolSettings),
    outlierDetection: Type.Optional(OutlierDetection),
    tls: Type.Optional(ClientTLSSettings),
    portLevelSettings: Type.Optional(
      Type.Array(PortTrafficPolicy, {
        maxItems: 4096,
        description: "Policies for individual ports; each replaces the destination-level policy for its port.",
      }),
    ),
    tunnel: Type.Optional(TunnelSettings),
    proxyProtocol: Type.Optional(ProxyProtocol),
    retryBudget: Type.Optional(RetryBudget),
  },
  { description: "Policies applied to traffic for a destination: load balancing, connection pool, outlier detection, TLS." },
);
export type TrafficPolicy = Decoded<typeof TrafficPolicy>;

/** Istio `Subset`. */
export const Subset = closed(
  {
    name: Type.String({
      minLength: 1,
      description: "Name of the subset, a DNS label; routes refer to it as destination.subset.",
    }),
    labels: Type.Optional(
      mapOf(Type.String(), {
        description: "Endpoint labels selecting the subset's endpoints; a subset without labels selects all endpoints of the host.",
      }),
    ),
    trafficPolicy: Type.Optional(TrafficPolicy),
  },
  {
    description:
      "A named group of endpoints of the host (e.g. one version), with an optional traffic policy overriding the rule-level one field by field.",
  },
);
export type Subset = Decoded<typeof Subset>;

/** Istio `DestinationRule` spec. */
export const DestinationRuleSpec = closed(
  {
    host: Type.String({
      minLength: 1,
      description:
        "The service the rule applies to, from the service registry or a ServiceEntry; short names resolve in the rule's namespace. Prefer FQDNs.",
    }),
    trafficPolicy: Type.Optional(TrafficPolicy),
    subsets: Type.Optional(Type.Array(Subset, { description: "Named subsets (versions) of the service." })),
    exportTo: Type.Optional(
      Type.Array(Type.String(), {
        description: "Namespaces that see this rule: `.` (its own), `*` (all, the default) or namespace names.",
      }),
    ),
    workloadSelector: Type.Optional(WorkloadSelector),
  },
  {
    description:
      "Policies for traffic to a service after routing: load balancing, connection pool, outlier detection, TLS, and named subsets.",
  },
);
export type DestinationRuleSpec = Decoded<typeof DestinationRuleSpec>;
