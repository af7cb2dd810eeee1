// Connects a listener's requests to telemetry: the request id and trace headers added upstream,
// and at the end of each request the Istio metrics (reporter `source` outbound, `destination`
// inbound), the span and the access-log line. Metric recorders are bound once per endpoint and
// kept on it, so the steady state does no label work.
import type { RequestHead } from "../http1/parse-request-head.ts";
import { isGrpcContentType } from "../http2/grpc-status.ts";
import { AccessLogRecord } from "../telemetry/access-log.ts";
import { RecordFilterInput } from "../telemetry/record-filter-input.ts";
import type { SpanTag, TelemetryPolicy } from "../telemetry/telemetry-policy.ts";
import type { ConnectionSecurityPolicy, IstioMetrics, MetricPeer, PeerBinding, PeerLabels, ServiceLabels } from "../telemetry/istio-metrics.ts";
import { parseResponseFlags } from "../telemetry/response-flags.ts";
import type { Tracing } from "../telemetry/tracing.ts";
import type { TcpProxyEnvironment } from "../tcp/tcp-proxy.ts";
import type { TcpRecord } from "../tcp/tcp-record.ts";
import type { ClusterRuntime } from "./cluster-runtime.ts";
import type { ClientConnection, ExchangeEnvironment, ExchangeRecord } from "./exchange.ts";
import type { ClusterLookup } from "./proxy-snapshot.ts";
import { PEER_METADATA_HEADER, peerLabelsFromHeader } from "./peer-metadata.ts";
import { headerRecord, type Decision } from "./route-request.ts";

export interface RequestTelemetryOptions {
  readonly kind: "outbound" | "inbound";
  readonly metrics: IstioMetrics;
  readonly tracing: Tracing | undefined;
  /**
   * The Telemetry of this side (outbound: CLIENT, inbound: SERVER): access-log writer and filter,
   * sampling, span reporting and tags, read per request and replaced by config pushes.
   */
  readonly policy: TelemetryPolicy;
  /** The listener's `ip:port`, for `downstream_local_address`. */
  readonly localAddress: string;
  /** Inbound: the service the local workload serves (`destination_service`). */
  readonly inboundService?: ServiceLabels;
  /** Inbound: the verified mutual-TLS peer of the connections this environment serves (`source_principal`, `source_workload_namespace`). */
  readonly inboundPeer?: PeerLabels;
  /** Inbound: `mutual_tls` for connections with a verified peer; `none` (Istio's default) otherwise. */
  readonly securityPolicy?: ConnectionSecurityPolicy;
  /** Istio's domain suffix, to split `name.namespace.svc.<suffix>` hosts into service labels. */
  readonly domainSuffix: string;
  readonly now: () => number;
  readonly random: () => number;
  /**
   * This sidecar's metadata-exchange lines (peerMetadataHeaderLines): outbound sends them with
   * every request, inbound answers a peer's with them; inbound reads the peer's to label the
   * source (`source_workload`, `source_app`, `source_version`, ...).
   */
  readonly metadataLines?: string | undefined;
}

/** Distinct peer metadata values kept per inbound environment (one per source workload in practice). */
const maxSourcePeers = 256;

export function createRequestTelemetry(options: RequestTelemetryOptions): ExchangeEnvironment {
  const { metrics, tracing, policy } = options;
  const flagBits = new Map<string, number>([["", 0]]);
  const bits = (flags: string): number => {
    let value = flagBits.get(flags);
    if (value === undefined) {
      const parsed = parseResponseFlags(flags);
      value = parsed.ok ? parsed.flags : 0;
      flagBits.set(flags, value);
    }
    return value;
  };
  const servicePeer =
    options.kind === "inbound"
      ? metrics.peer({
          peer: options.inboundPeer ?? {},
          ...(options.inboundService ? { service: options.inboundService } : {}),
          ...(options.securityPolicy ? { securityPolicy: options.securityPolicy } : {}),
        })
      : undefined;
  const unknownPeer = metrics.peer({ peer: {} });
  /** Inbound: the recorder for a source that sent its metadata, by the header's value. */
  const sourcePeers = new Map<string, MetricPeer>();
  const sourcePeer = (metadata: string, fallback: MetricPeer): MetricPeer => {
    let peer = sourcePeers.get(metadata);
    if (peer === undefined) {
      const labels = peerLabelsFromHeader(metadata);
      if (labels === undefined) return fallback;
      if (sourcePeers.size >= maxSourcePeers) sourcePeers.clear();
      peer = metrics.peer({
        // The principal stays the one mutual TLS verified; the metadata only names the workload.
        peer: { ...(options.inboundPeer ?? {}), ...labels, ...(options.inboundPeer?.principal !== undefined ? { principal: options.inboundPeer.principal } : {}) },
        ...(options.inboundService ? { service: options.inboundService } : {}),
        ...(options.securityPolicy ? { securityPolicy: options.securityPolicy } : {}),
      });
      sourcePeers.set(metadata, peer);
    }
    return peer;
  };
  const endpointPeer = (cluster: ClusterRuntime, index: number): MetricPeer => {
    const endpoint = cluster.endpoints[index];
    if (!endpoint) return cluster.endpoints.length === 0 ? unknownPeer : endpointPeer(cluster, 0);
    if (endpoint.metrics === undefined) {
      const spec = cluster.spec.endpoints[index];
      const labels = spec?.labels ?? {};
      const peer: PeerLabels = {};
      if (labels["app"] !== undefined) peer.app = labels["app"];
      if (labels["version"] !== undefined) peer.version = labels["version"];
      const service = serviceLabels(cluster.spec.host, options.domainSuffix);
      if (service.namespace !== undefined) peer.namespace = service.namespace;
      if (labels["app"] !== undefined) peer.workload = labels["version"] !== undefined ? `${labels["app"]}-${labels["version"]}` : labels["app"];
      // destination_principal: under ISTIO_MUTUAL secure naming admits only the service's identities; when
      // there is one, every request that reached the endpoint was served by it.
      const tls = endpoint.pool.options.tls?.spec;
      if (tls?.mode === "ISTIO_MUTUAL" && tls.expectedNames.length === 1) peer.principal = tls.expectedNames[0] as string;
      endpoint.metrics = metrics.peer({ peer, service });
    }
    return endpoint.metrics;
  };
  const epochOffset = performance.timeOrigin;
  const logLine = new AccessLogRecord();
  const filterInput = new RecordFilterInput(logLine);
  const mtls = options.securityPolicy === "mutual_tls";
  /** Metrics, span and access-log line of a finished request; `connection` (access logs only) its client connection's addresses. */
  const finish = (head: RequestHead, record: ExchangeRecord, decision: Decision, connection?: ClientConnection): void => {
    const flags = bits(record.responseFlags);
    const duration = record.endMs - record.startMs;
    const forward = decision.type === "forward" ? decision : undefined;
    let peer: MetricPeer;
    if (servicePeer !== undefined) {
      const metadata = headerRecord(head)[PEER_METADATA_HEADER];
      peer = metadata === undefined ? servicePeer : sourcePeer(metadata, servicePeer);
    } else peer = forward ? endpointPeer(forward.cluster, record.endpoint) : unknownPeer;
    const grpc = record.grpcStatus !== undefined || isGrpcContentType(headerRecord(head)["content-type"]);
    peer.recordRequest(grpc ? "grpc" : "http", record.responseCode, record.grpcStatus ?? -1, flags, duration, record.requestBytes, record.responseBytes);
    const trace = record.trace;
    if (tracing && trace?.sampled && policy.reportSpans) {
      const tags = policy.spanTags;
      tracing.endSpan(trace, {
        ...(tags.length > 0 ? { customTags: spanTagValues(tags, headerRecord(head)) } : {}),
        kind: options.kind === "outbound" ? "client" : "server",
        name: `${head.authority}/*`,
        startTimeMs: epochOffset + record.startMs,
        endTimeMs: epochOffset + record.endMs,
        method: head.method,
        path: head.target,
        authority: head.authority,
        protocolVersion: record.protocol.slice(5),
        statusCode: record.responseCode,
        responseFlags: flags,
        upstreamCluster: forward?.cluster.name ?? "",
        upstreamHost: record.upstreamHost,
        requestBytes: record.requestBytes,
        responseBytes: record.responseBytes,
      });
    }
    const accessLog = policy.accessLog;
    if (accessLog?.enabled) {
      // The writer formats the line at once, so one record serves every request.
      const line = logLine;
      line.reset();
      const headers = headerRecord(head);
      line.startTimeMs = epochOffset + record.startMs;
      line.method = head.method;
      line.path = head.target;
      line.protocol = record.protocol;
      line.responseCode = record.responseCode;
      line.responseFlags = flags;
      line.responseCodeDetails = record.details !== "" ? record.details : record.responseCode > 0 ? "via_upstream" : "";
      line.bytesReceived = Math.max(0, record.requestBytes - head.headBytes);
      line.bytesSent = record.responseBytes;
      line.durationMs = duration;
      line.upstreamServiceTimeMs = record.upstreamHeadMs > 0 ? record.upstreamHeadMs - record.startMs : -1;
      line.xForwardedFor = headers["x-forwarded-for"] ?? "";
      line.userAgent = headers["user-agent"] ?? "";
      line.requestId = trace?.requestId ?? headers["x-request-id"] ?? "";
      line.authority = head.authority;
      line.upstreamHost = record.upstreamHost;
      line.upstreamCluster = forward?.cluster.name ?? "";
      line.upstreamLocalAddress = record.upstreamLocalAddress;
      line.downstreamLocalAddress = options.localAddress;
      line.routeName = decision.routeName;
      if (connection) {
        line.downstreamRemoteAddress = connection.remoteAddress;
        line.requestedServerName = connection.serverName;
      }
      const filter = policy.logFilter;
      if (filter === undefined || filter(filterInput.of(line, headers, mtls))) accessLog.write(line);
    }
  };

  // Access-log lines name the client's address and the TLS SNI: a connection gets its own
  // environment then. Whether the log is on changes with config pushes (TelemetryPolicy.configure),
  // so these two fields follow it; connections keep the environment they started with.
  const forConnection = (connection: ClientConnection): ExchangeEnvironment => ({ ...env, finished: (head, record, decision) => finish(head, record, decision, connection), forConnection: undefined });
  const env: { -readonly [K in keyof ExchangeEnvironment]: ExchangeEnvironment[K] } = {
    now: options.now,
    random: options.random,
    requestMetadataLines: options.kind === "outbound" ? options.metadataLines : undefined,
    responseMetadataLines: options.kind === "inbound" ? options.metadataLines : undefined,
    extraRequestHeaders(head: RequestHead, record: ExchangeRecord): string {
      if (!tracing) return "";
      const trace = tracing.startRequest(headerRecord(head), undefined, policy.samplingPercent);
      record.trace = trace;
      const requestId = trace.requestIdGenerated ? `x-request-id: ${trace.requestId}\r\n` : "";
      return requestId + tracing.headerLines(trace);
    },
    finished: finish,
    upstreamAddresses: policy.accessLog !== undefined,
    forConnection: policy.accessLog !== undefined ? forConnection : undefined,
  };
  policy.onChange(() => {
    env.upstreamAddresses = policy.accessLog !== undefined;
    env.forConnection = policy.accessLog !== undefined ? forConnection : undefined;
  });
  return env;
}

export interface TcpTelemetryOptions {
  readonly metrics: IstioMetrics;
  /** The side's Telemetry: its access-log writer and filter, read per connection. */
  readonly policy: Pick<TelemetryPolicy, "accessLog" | "logFilter">;
  readonly domainSuffix: string;
  readonly now: () => number;
  /** Cluster runtimes by name (the current snapshot's), to label metrics by the destination's endpoint. */
  readonly clusters: () => Pick<ClusterLookup, "get">;
  /**
   * One fixed binding for every connection instead of the destination endpoint's labels: the
   * inbound side (reporter `destination`), whose peer is the source and whose service is the
   * workload's own.
   */
  readonly binding?: PeerBinding | undefined;
}

/** Istio's TCP metrics and access log for proxied TCP connections (CONNECT tunnels, TCP listeners). */
export function createTcpTelemetry(options: TcpTelemetryOptions): TcpProxyEnvironment {
  const peers = new Map<string, MetricPeer>();
  const logLine = new AccessLogRecord();
  const filterInput = new RecordFilterInput(logLine);
  const fixed = options.binding ? options.metrics.peer(options.binding) : undefined;
  const peerOf = (record: TcpRecord): MetricPeer => {
    if (fixed) return fixed;
    const key = `${record.upstreamCluster}|${record.upstreamHost}`;
    let peer = peers.get(key);
    if (!peer) {
      const cluster = options.clusters().get(record.upstreamCluster);
      const endpoint = cluster?.spec.endpoints.find((e) => e.address === record.upstreamHost);
      const labels: PeerLabels = {};
      if (endpoint?.labels["app"] !== undefined) labels.app = endpoint.labels["app"];
      if (endpoint?.labels["version"] !== undefined) labels.version = endpoint.labels["version"];
      peer = options.metrics.peer({ peer: labels, ...(cluster ? { service: serviceLabels(cluster.spec.host, options.domainSuffix) } : {}) });
      peers.set(key, peer);
    }
    return peer;
  };
  return {
    now: options.now,
    wallClockMs: () => Date.now(),
    opened: (record) => peerOf(record).recordTcpOpened(record.responseFlags),
    finished: (record) => {
      const peer = peerOf(record);
      peer.recordTcpBytes(record.bytesSent, record.bytesReceived, record.responseFlags);
      peer.recordTcpClosed(record.responseFlags);
      const log = options.policy.accessLog;
      if (log?.enabled) {
        const line = logLine;
        line.reset();
        line.startTimeMs = record.startTimeMs;
        line.responseFlags = record.responseFlags;
        line.bytesReceived = record.bytesReceived;
        line.bytesSent = record.bytesSent;
        line.durationMs = record.durationMs;
        line.upstreamHost = record.upstreamHost;
        line.upstreamCluster = record.upstreamCluster;
        line.upstreamLocalAddress = record.upstreamLocalAddress;
        line.downstreamLocalAddress = record.downstreamLocalAddress;
        line.downstreamRemoteAddress = record.downstreamRemoteAddress;
        line.requestedServerName = record.requestedServerName;
        line.routeName = record.routeName;
        line.connectionTerminationDetails = record.connectionTerminationDetails;
        line.upstreamTransportFailureReason = record.upstreamTransportFailureReason;
        const filter = options.policy.logFilter;
        if (filter === undefined || filter(filterInput.of(line, undefined, false))) log.write(line);
      }
    },
  };
}

/** `reviews.default.svc.cluster.local` → name `reviews`, namespace `default`; other hosts: name = host. */
export function serviceLabels(host: string, domainSuffix: string): ServiceLabels {
  const suffix = `.svc.${domainSuffix}`;
  if (host.endsWith(suffix)) {
    const [name, namespace] = host.slice(0, -suffix.length).split(".");
    return namespace === undefined ? { host, name: name as string } : { host, name: name as string, namespace };
  }
  return { host, name: host };
}

/** The custom tags of one span: header tags read from the request (else their default); tags without a value are left out. */
function spanTagValues(tags: readonly SpanTag[], headers: Readonly<Record<string, string>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const tag of tags) {
    const value = tag.header === undefined ? tag.value : (headers[tag.header] ?? tag.value);
    if (value !== undefined) values[tag.name] = value;
  }
  return values;
}
