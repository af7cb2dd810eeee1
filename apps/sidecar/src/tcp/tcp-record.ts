// What one proxied TCP connection did, handed to the finished callback for metrics and access
// logs. Field names follow Envoy's access-log operators as Istio's TCP access log prints them.
import type { ResponseFlagSet } from "../telemetry/response-flags.ts";

export interface TcpRecord {
  /** `start_time`: when the downstream connection was handed to the proxy, epoch ms. */
  startTimeMs: number;
  /** `duration`: from start until both sides were closed, ms. */
  durationMs: number;
  /** `bytes_received`: bytes read from the downstream client (request direction; Istio's `istio_tcp_received_bytes_total`). */
  bytesReceived: number;
  /** `bytes_sent`: bytes written to the downstream client (response direction; `istio_tcp_sent_bytes_total`). */
  bytesSent: number;
  /** `response_flags`: UF (connect failed), URX (connect attempts exhausted), UO (maxConnections), UH (no healthy endpoint), NC, NR. */
  responseFlags: ResponseFlagSet;
  /** `upstream_host`: `ip:port` of the endpoint of the last connect attempt; "" when none was picked. */
  upstreamHost: string;
  /** `upstream_cluster`. */
  upstreamCluster: string;
  /** `upstream_local_address`: "" until connected. */
  upstreamLocalAddress: string;
  /** `downstream_local_address`. */
  downstreamLocalAddress: string;
  /** `downstream_remote_address`. */
  downstreamRemoteAddress: string;
  /** `requested_server_name`: the SNI, when known. */
  requestedServerName: string;
  /** `route_name`: the tcp/tls route (`default` for a host's default cluster). */
  routeName: string;
  /** Upstream connect attempts made for this connection (at most the proxy's maxConnectAttempts). */
  connectAttempts: number;
  /** `connection_termination_details`: why the proxy closed, e.g. `tcp_session_idle_timeout`. */
  connectionTerminationDetails: string;
  /** `upstream_transport_failure_reason`: the connect error (`ECONNREFUSED`, `connect timeout`). */
  upstreamTransportFailureReason: string;
}

/** A record with every field empty, for one connection. */
export function emptyTcpRecord(startTimeMs: number): TcpRecord {
  return {
    startTimeMs,
    durationMs: 0,
    bytesReceived: 0,
    bytesSent: 0,
    responseFlags: 0,
    upstreamHost: "",
    upstreamCluster: "",
    upstreamLocalAddress: "",
    downstreamLocalAddress: "",
    downstreamRemoteAddress: "",
    requestedServerName: "",
    routeName: "",
    connectAttempts: 0,
    connectionTerminationDetails: "",
    upstreamTransportFailureReason: "",
  };
}
