// The inbound cluster to the local application (`inbound|<port>||`, Istio's name): one static
// endpoint at the app's address, plain text, no policy. The HTTP inbound listener and the inbound
// TCP listeners each forward through one.
import type { ClusterSpec } from "@meshwork/proxy-core";

export function applicationClusterSpec(host: string, port: number, portName: string, protocol: ClusterSpec["protocol"]): ClusterSpec {
  return {
    name: `inbound|${port}||`,
    host,
    port,
    portName,
    subset: undefined,
    subsetLabels: {},
    protocol,
    discovery: "static",
    endpoints: [{ address: `${host}:${port}`, host, port, weight: 1, healthy: true, locality: { region: "", zone: "", subZone: "" }, labels: {}, origin: "application" }],
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
