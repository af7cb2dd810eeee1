// Clusters of one endpoint the sidecar makes itself rather than from config: the inbound clusters
// to the local application (`inbound|<port>||`, Istio's name) and the PassthroughCluster to a
// request's own authority. Plain text, round robin, no policy.
import type { ClusterSpec } from "@meshwork/proxy-core";

interface SingleEndpoint {
  readonly name: string;
  /** The host as matched and logged (no IPv6 brackets). */
  readonly host: string;
  /** The host as written in the endpoint's address (`[::1]` keeps its brackets). */
  readonly addressHost: string;
  readonly port: number;
  readonly portName: string;
  readonly protocol: ClusterSpec["protocol"];
  readonly discovery: ClusterSpec["discovery"];
  readonly origin: ClusterSpec["endpoints"][number]["origin"];
}

export function singleEndpointClusterSpec(e: SingleEndpoint): ClusterSpec {
  return {
    name: e.name,
    host: e.host,
    port: e.port,
    portName: e.portName,
    subset: undefined,
    subsetLabels: {},
    protocol: e.protocol,
    discovery: e.discovery,
    endpoints: [{ address: `${e.addressHost}:${e.port}`, host: e.host, port: e.port, weight: 1, healthy: true, locality: { region: "", zone: "", subZone: "" }, labels: {}, origin: e.origin }],
    balancer: { type: "round-robin" },
    hashPolicy: undefined,
    locality: undefined,
    connectionPool: {},
    outlier: undefined,
    tls: undefined,
    connectTimeoutMs: 10_000,
    idleTimeoutMs: 3_600_000,
    tcpIdleTimeoutMs: 3_600_000,
    maxConnectionDurationMs: undefined,
    upstreamHttp2: false,
    useClientProtocol: false,
    destinationRules: [],
  };
}

/**
 * The inbound cluster to the application at `host:port`, speaking the port's protocol as Envoy's
 * inbound clusters do in Istio: HTTP/2 (h2c) for `grpc` and `http2`, the client's own protocol for
 * a port of unknown protocol (sniffed; USE_DOWNSTREAM_PROTOCOL), HTTP/1.1 for `http`.
 */
export function applicationClusterSpec(
  host: string,
  port: number,
  portName: string,
  protocol: ClusterSpec["protocol"],
  options: { readonly name?: string | undefined; readonly connectionPool?: ClusterSpec["connectionPool"] | undefined } = {},
): ClusterSpec {
  // `host` may be `unix:///path` (a Sidecar ingress defaultEndpoint): the connect code dials the path.
  const base = singleEndpointClusterSpec({ name: options.name ?? `inbound|${port}||`, host, addressHost: host, port, portName, protocol, discovery: "static", origin: "application" });
  // A Sidecar's inboundConnectionPool or ingress connectionPool: the cluster's circuit breaker limits what reaches the application.
  const spec = options.connectionPool === undefined ? base : { ...base, connectionPool: options.connectionPool };
  if (protocol === "grpc" || protocol === "http2") return { ...spec, upstreamHttp2: true };
  if (protocol === "unknown") return { ...spec, useClientProtocol: true };
  return spec;
}
