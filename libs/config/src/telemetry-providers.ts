// Names Telemetry resources use that both validation (libs/config) and resolution (proxy-core, in
// the sidecar) need: the providers Meshwork serves and the customMetric names of the standard
// metrics. A module of its own so the sidecar reads them without loading the schemas.

/** The provider of each section Meshwork's sidecar serves (Istio's built-in names); also the default of an entry that names none. */
export const telemetryProviders = { accessLogging: "envoy", metrics: "prometheus" } as const;

/** `customMetric` names of the standard metrics (Istio's metric names without the `istio_` prefix) → MetricSelector names. */
export const customMetricNames: Readonly<Record<string, string>> = {
  requests_total: "REQUEST_COUNT",
  request_duration_milliseconds: "REQUEST_DURATION",
  request_bytes: "REQUEST_SIZE",
  response_bytes: "RESPONSE_SIZE",
  tcp_connections_opened_total: "TCP_OPENED_CONNECTIONS",
  tcp_connections_closed_total: "TCP_CLOSED_CONNECTIONS",
  tcp_sent_bytes_total: "TCP_SENT_BYTES",
  tcp_received_bytes_total: "TCP_RECEIVED_BYTES",
};
