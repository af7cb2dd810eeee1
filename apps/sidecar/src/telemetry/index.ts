// The sidecar's telemetry: Istio standard metrics and Envoy-style proxy stats, JSON access logs,
// and trace propagation with OTLP span export. See README.md beside this file.

export {
  ISTIO_DEFAULT_BUCKETS,
  ISTIO_HTTP_LABELS,
  ISTIO_TCP_LABELS,
  createIstioMetrics,
  type ConnectionSecurityPolicy,
  type IstioMetrics,
  type IstioMetricsOptions,
  type MetricPeer,
  type PeerBinding,
  type PeerLabels,
  type Reporter,
  type RequestProtocol,
  type ServiceLabels,
} from "./istio-metrics.ts";
export {
  ClusterCounter,
  ClusterGauge,
  PROXY_COUNTERS,
  PROXY_GAUGES,
  createProxyStats,
  type ProxyCounterName,
  type ProxyGaugeName,
  type ProxyStats,
} from "./proxy-stats.ts";
export {
  ALL_RESPONSE_FLAGS,
  RESPONSE_FLAGS,
  RESPONSE_FLAG_TABLE,
  formatResponseFlags,
  parseResponseFlags,
  responseFlagLongName,
  type ResponseFlagSet,
  type ResponseFlagShort,
} from "./response-flags.ts";
export {
  AccessLogRecord,
  AccessLogRecordPool,
  AccessLogWriter,
  formatAccessLogLine,
  openAccessLogStream,
  type AccessLogStats,
  type AccessLogStream,
  type AccessLogWriterOptions,
} from "./access-log.ts";
export {
  TRACE_HEADER_NAMES,
  extractTraceContext,
  formatTraceHeaderLines,
  formatTraceparent,
  isValidSpanId,
  isValidTraceId,
  parseB3Single,
  parseTraceparent,
  parseTracestate,
  traceHeaderEntries,
  type HeaderValues,
  type IncomingTraceContext,
  type OutgoingTraceIds,
  type Traceparent,
} from "./trace-context.ts";
export {
  RequestTrace,
  createTracing,
  type ProxySpanKind,
  type SpanEnd,
  type Tracing,
  type TracingOptions,
} from "./tracing.ts";
