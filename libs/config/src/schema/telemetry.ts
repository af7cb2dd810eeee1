// Schema of Istio's Telemetry (telemetry.istio.io v1 and v1alpha1): access logs, tracing and
// metrics of the mesh (root namespace, no selector), a namespace (no selector) or the workloads a
// selector matches. Field list: istio/api telemetry/v1alpha1/telemetry.proto.
import { Type } from "@sinclair/typebox";
import { reportedMetrics } from "../telemetry-providers.ts";
import { closed, Duration, mapOf, PolicyTargetReference, PolicyTargetReferences, stringEnum, WorkloadSelector, type Decoded } from "./common.ts";

/** `WorkloadMode`: which side of a request a setting applies to. */
export const WorkloadMode = stringEnum(["CLIENT_AND_SERVER", "CLIENT", "SERVER"], {
  description:
    "CLIENT: the workload's outbound requests (reporter source). SERVER: its inbound requests (reporter destination). " +
    "CLIENT_AND_SERVER (the default): both.",
});
export type WorkloadMode = Decoded<typeof WorkloadMode>;

/** `ProviderRef`: a telemetry provider by name. */
export const ProviderRef = closed(
  {
    name: Type.String({
      description:
        "Name of the provider: envoy (the sidecar's JSON access log), prometheus (Istio's standard metrics), " +
        "or an extension provider name (tracing: spans go to the sidecar's --otlp-endpoint).",
    }),
  },
  { description: "A telemetry provider, by name." },
);
export type ProviderRef = Decoded<typeof ProviderRef>;

const Providers = Type.Array(ProviderRef, {
  description: "Providers this entry configures. Unset: the providers of the enclosing level (mesh → namespace → workload), else the default.",
});

/** `Tracing.TracingSelector`. */
export const TracingSelector = closed({ mode: Type.Optional(WorkloadMode) }, { description: "Which requests (client and/or server side) the tracing settings apply to." });

/** `Tracing.Literal`. */
export const TracingLiteral = closed({ value: Type.String({ description: "The tag's value." }) }, { description: "A constant tag value." });

/** `Tracing.Environment`. */
export const TracingEnvironment = closed(
  {
    name: Type.String({ description: "Name of the proxy's environment variable to read, e.g. POD_NAME." }),
    defaultValue: Type.Optional(Type.String({ description: "Value when the variable is not set." })),
  },
  { description: "A tag value read from the proxy's environment." },
);

/** `Tracing.RequestHeader`. */
export const TracingRequestHeader = closed(
  {
    name: Type.String({ description: "Request header whose value becomes the tag, e.g. x-user-id." }),
    defaultValue: Type.Optional(Type.String({ description: "Value when the request has no such header." })),
  },
  { description: "A tag value taken from a request header." },
);

/** `Tracing.CustomTag`: exactly one of literal, environment and header. */
export const CustomTag = closed(
  {
    literal: Type.Optional(TracingLiteral),
    environment: Type.Optional(TracingEnvironment),
    header: Type.Optional(TracingRequestHeader),
  },
  { exclusive: [["literal", "environment", "header"]], description: "Where a custom span tag's value comes from: literal, environment or header." },
);
export type CustomTag = Decoded<typeof CustomTag>;

/** `Tracing`. */
export const Tracing = closed(
  {
    match: Type.Optional(TracingSelector),
    providers: Type.Optional(Providers),
    randomSamplingPercentage: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        description: "Percentage (0–100) of requests without an upstream sampling decision that are sampled; replaces the sidecar's --trace-sampling.",
      }),
    ),
    disableSpanReporting: Type.Optional(Type.Boolean({ description: "true: trace headers still propagate, but this proxy reports no spans." })),
    customTags: Type.Optional(mapOf(CustomTag, { description: "Extra span attributes by tag name (literal, environment variable or request header)." })),
    useRequestIdForTraceSampling: Type.Optional(Type.Boolean({ description: "Accepted for compatibility; Meshwork samples at random whatever it says." })),
  },
  { description: "Tracing settings: sampling, span reporting and custom tags." },
);
export type Tracing = Decoded<typeof Tracing>;

/** The Istio standard metrics a `MetricSelector.metric` names. */
export const IstioMetricName = stringEnum(
  ["ALL_METRICS", ...reportedMetrics, "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES"] as const,
  { description: "One of Istio's standard metrics (REQUEST_COUNT = istio_requests_total, ...), or ALL_METRICS." },
);
export type IstioMetricName = Decoded<typeof IstioMetricName>;

/** `MetricSelector`. */
export const MetricSelector = closed(
  {
    metric: Type.Optional(IstioMetricName),
    customMetric: Type.Optional(Type.String({ description: "A metric by its name without the istio_ prefix; Meshwork has none beyond the standard ones." })),
    mode: Type.Optional(WorkloadMode),
  },
  { exclusive: [["metric", "customMetric"]], description: "Which metric (all when unset) on which side (both when unset) an override applies to." },
);

/** `MetricsOverrides.TagOverride`. */
export const TagOverride = closed(
  {
    operation: Type.Optional(stringEnum(["UPSERT", "REMOVE"], { description: "UPSERT (the default) sets the label to value; REMOVE drops the label." })),
    value: Type.Optional(Type.String({ description: "UPSERT: the label's value. Meshwork takes a quoted string literal (\"'canary'\") or plain text, not a CEL expression over request attributes." })),
  },
  { description: "How to change one label of the selected metrics." },
);
export type TagOverride = Decoded<typeof TagOverride>;

/** `MetricsOverrides`. */
export const MetricsOverrides = closed(
  {
    match: Type.Optional(MetricSelector),
    disabled: Type.Optional(Type.Boolean({ description: "true: the selected metrics are not reported." })),
    tagOverrides: Type.Optional(mapOf(TagOverride, { description: "Label changes by label name (e.g. request_protocol)." })),
  },
  { description: "Disables metrics or changes their labels." },
);
export type MetricsOverrides = Decoded<typeof MetricsOverrides>;

/** `Metrics`. */
export const Metrics = closed(
  {
    providers: Type.Optional(Providers),
    overrides: Type.Optional(Type.Array(MetricsOverrides, { description: "Applied in order; later entries win." })),
    reportingInterval: Type.Optional(Duration({ description: "Accepted for compatibility: Prometheus reads the metrics when it scrapes." })),
  },
  { description: "Metrics settings: which standard metrics are reported, with which labels." },
);
export type Metrics = Decoded<typeof Metrics>;

/** `AccessLogging.LogSelector`. */
export const LogSelector = closed({ mode: Type.Optional(WorkloadMode) }, { description: "Which requests (client and/or server side) the access-log settings apply to." });

/** `AccessLogging.Filter`. */
export const AccessLogFilter = closed(
  {
    expression: Type.String({
      description:
        "A CEL expression; only requests for which it is true are logged, e.g. response.code >= 400. " +
        "Meshwork evaluates a subset: see docs/design/sidecar.md (Telemetry).",
    }),
  },
  { description: "Which requests are logged." },
);

/** `AccessLogging`. */
export const AccessLogging = closed(
  {
    match: Type.Optional(LogSelector),
    providers: Type.Optional(Providers),
    disabled: Type.Optional(Type.Boolean({ description: "true: no access log for the selected requests." })),
    filter: Type.Optional(AccessLogFilter),
  },
  { description: "Access-log settings." },
);
export type AccessLogging = Decoded<typeof AccessLogging>;

/** `istio.telemetry.v1alpha1.Telemetry` spec. */
export const TelemetrySpec = closed(
  {
    selector: Type.Optional(WorkloadSelector),
    targetRef: Type.Optional(PolicyTargetReference),
    targetRefs: Type.Optional(PolicyTargetReferences),
    tracing: Type.Optional(Type.Array(Tracing, { description: "Tracing settings; later entries override earlier ones." })),
    metrics: Type.Optional(Type.Array(Metrics, { description: "Metrics settings." })),
    accessLogging: Type.Optional(Type.Array(AccessLogging, { description: "Access-log settings." })),
  },
  {
    description:
      "Telemetry (access logs, tracing, metrics) of the mesh (root namespace, no selector), of a namespace (no selector) " +
      "or of the workloads its selector matches; the more specific overrides the less specific, per section.",
  },
);
export type TelemetrySpec = Decoded<typeof TelemetrySpec>;
