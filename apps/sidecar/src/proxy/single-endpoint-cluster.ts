// Clusters of one endpoint the sidecar makes itself rather than from config: the inbound cluster
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

/** The inbound cluster to the application at `host:port`. */
export function applicationClusterSpec(host: string, port: number, portName: string, protocol: ClusterSpec["protocol"]): ClusterSpec {
  return singleEndpointClusterSpec({ name: `inbound|${port}||`, host, addressHost: host, port, portName, protocol, discovery: "static", origin: "application" });
}
