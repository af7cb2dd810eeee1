// Names Telemetry resources use that validation (libs/config), resolution (proxy-core) and the
// sidecar's metrics all need: the providers Meshwork serves, the standard metrics it reports, their
// customMetric names and their labels. A module of its own so the sidecar reads them without
// loading the schemas.

/** The provider of each section Meshwork's sidecar serves (Istio's built-in names); also the default of an entry that names none. */
export const telemetryProviders = { accessLogging: "envoy", metrics: "prometheus" } as const;

/** The standard metrics Meshwork reports, by Istio's MetricSelector names. */
export const reportedMetrics = [
  "REQUEST_COUNT",
  "REQUEST_DURATION",
  "REQUEST_SIZE",
  "RESPONSE_SIZE",
  "TCP_OPENED_CONNECTIONS",
  "TCP_CLOSED_CONNECTIONS",
  "TCP_SENT_BYTES",
  "TCP_RECEIVED_BYTES",
] as const;
export type ReportedMetric = (typeof reportedMetrics)[number];

/** Istio's standard metric labels, in the order Istio's stats filter emits them (what tagOverrides may REMOVE). */
export const istioMetricLabels = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_service_name",
  "destination_service_namespace",
  "destination_cluster",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
] as const;

/** `customMetric` names of the standard metrics (Istio's metric names without the `istio_` prefix) → MetricSelector names. */
export const customMetricNames: Readonly<Record<string, ReportedMetric>> = {
  requests_total: "REQUEST_COUNT",
  request_duration_milliseconds: "REQUEST_DURATION",
  request_bytes: "REQUEST_SIZE",
  response_bytes: "RESPONSE_SIZE",
  tcp_connections_opened_total: "TCP_OPENED_CONNECTIONS",
  tcp_connections_closed_total: "TCP_CLOSED_CONNECTIONS",
  tcp_sent_bytes_total: "TCP_SENT_BYTES",
  tcp_received_bytes_total: "TCP_RECEIVED_BYTES",
};
