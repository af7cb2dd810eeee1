// Renders a cluster as stable text: the output of proxy-config test cases and a readable form for
// the admin config dump. Settings left at Istio's defaults are not printed.
import type { BalancerKind } from "./create-load-balancer.ts";
import type { ClusterSpec } from "./proxy-config.ts";

/** Multi-line description of `cluster`: identity, endpoints, then each non-default setting. */
export function describeCluster(cluster: ClusterSpec): string[] {
  const head = [`cluster ${cluster.name}`, `protocol=${cluster.protocol}`, `discovery=${cluster.discovery}`];
  if (cluster.destinationRules.length > 0) head.push(`dr=${cluster.destinationRules.join(",")}`);
  const lines = [head.join(" ")];
  const labels = (l: Readonly<Record<string, string>>): string => {
    const entries = Object.entries(l);
    return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}=${v}`).join(",")}}`;
  };
  lines.push(
    `  endpoints ${cluster.endpoints.length === 0 ? "(none)" : cluster.endpoints.map((e) => `${e.address}${e.weight !== 1 ? `*${e.weight}` : ""}${labels(e.labels)}`).join(" ")}`,
  );
  const lb = [describeBalancer(cluster.balancer)];
  if (cluster.hashPolicy) lb.push(`hash=${cluster.hashPolicy.type}${"name" in cluster.hashPolicy ? `:${cluster.hashPolicy.name}` : ""}`);
  if (cluster.locality) {
    lb.push("locality");
    if (cluster.locality.failover.length > 0) lb.push(`failover=${cluster.locality.failover.map((f) => `${f.from}->${f.to}`).join(",")}`);
  }
  lines.push(`  lb ${lb.join(" ")}`);
  const pool = cluster.connectionPool;
  const limits = [
    pool.tcp?.maxConnections !== undefined && `connections=${pool.tcp.maxConnections}`,
    pool.http?.http1MaxPendingRequests !== undefined && `pending=${pool.http.http1MaxPendingRequests}`,
    pool.http?.http2MaxRequests !== undefined && `requests=${pool.http.http2MaxRequests}`,
    pool.http?.maxRetries !== undefined && `retries=${pool.http.maxRetries}`,
    pool.http?.maxRequestsPerConnection !== undefined && `per-connection=${pool.http.maxRequestsPerConnection}`,
  ].filter(Boolean);
  if (limits.length > 0) lines.push(`  pool ${limits.join(" ")}`);
  const o = cluster.outlier;
  if (o) {
    lines.push(`  outlier 5xx=${o.consecutive5xx} gateway=${o.consecutiveGatewayErrors} interval=${o.intervalMs}ms base=${o.baseEjectionMs}ms max=${o.maxEjectionPercent}%`);
  }
  const t = cluster.tls;
  if (t) {
    const parts = [t.mode, t.sni !== undefined && `sni=${t.sni}`, t.subjectAltNames.length > 0 && `sans=${t.subjectAltNames.join(",")}`, t.credentialName !== undefined && `credential=${t.credentialName}`];
    lines.push(`  tls ${parts.filter(Boolean).join(" ")}`);
  }
  const timeouts = [
    cluster.connectTimeoutMs !== 10_000 && `connect=${cluster.connectTimeoutMs}ms`,
    cluster.idleTimeoutMs !== 3_600_000 && `idle=${cluster.idleTimeoutMs}ms`,
    cluster.tcpIdleTimeoutMs !== 3_600_000 && `tcp-idle=${cluster.tcpIdleTimeoutMs}ms`,
    cluster.maxConnectionDurationMs !== undefined && `max-duration=${cluster.maxConnectionDurationMs}ms`,
  ].filter(Boolean);
  if (timeouts.length > 0) lines.push(`  timeouts ${timeouts.join(" ")}`);
  if (cluster.upstreamHttp2 || cluster.useClientProtocol) lines.push(`  upstream ${cluster.useClientProtocol ? "client-protocol" : "http2"}`);
  return lines;
}

function describeBalancer(kind: BalancerKind): string {
  switch (kind.type) {
    case "ring-hash":
      return `ring-hash(${kind.minimumRingSize})`;
    case "maglev":
      return `maglev(${kind.tableSize})`;
    default:
      return kind.type;
  }
}
