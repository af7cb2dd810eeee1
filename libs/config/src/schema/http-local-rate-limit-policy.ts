// Schema of `policy.meshwork.io` HTTPLocalRateLimitPolicy: local (per sidecar) HTTP rate limits
// on a workload's inbound traffic — a total limit, a limit per client identity and overrides for
// named ServiceAccounts. Modelled on Linkerd's policy.linkerd.io/v1alpha1 HTTPLocalRateLimitPolicy
// (same total / identity / overrides fields); the target is chosen by labels like Istio's
// policies, and Meshwork adds an optional route scope and burst.
import { Type } from "@sinclair/typebox";
import { closed, HintKeyword, PortNumber, WorkloadSelector, type Decoded } from "./common.ts";

// Linkerd carries requestsPerSecond as a uint32.
const maxRate = 4_294_967_295;

/** One token bucket: a sustained rate and the burst it tolerates. */
export const RequestRateLimit = closed(
  {
    requestsPerSecond: Type.Integer({
      minimum: 1,
      maximum: maxRate,
      description: "Sustained number of requests per second allowed.",
      [HintKeyword]: "requestsPerSecond must be a positive whole number, e.g. 100; to not limit, remove the limit",
    }),
    burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: maxRate,
        description:
          "Meshwork extension: requests allowed at once after a quiet period (the bucket size). " +
          "Defaults to requestsPerSecond, which is what Linkerd allows (one second's worth).",
        [HintKeyword]: "burst must be a positive whole number; leave it out to allow one second's worth (requestsPerSecond)",
      }),
    ),
  },
  { description: "A rate limit: requestsPerSecond sustained, bursts up to burst (default requestsPerSecond)." },
);
export type RequestRateLimit = Decoded<typeof RequestRateLimit>;

/** A client an override applies to (Linkerd: only ServiceAccount). */
export const RateLimitClientRef = closed(
  {
    group: Type.Optional(Type.String({ description: "Group of the referent; empty (the core group) for a ServiceAccount." })),
    kind: Type.String({ description: "Kind of the referent. Only ServiceAccount is supported." }),
    namespace: Type.Optional(Type.String({ description: "Namespace of the ServiceAccount; the policy's namespace when unset or empty." })),
    name: Type.String({ description: "Name of the ServiceAccount.", [HintKeyword]: "name the client's ServiceAccount, e.g. name: productpage" }),
  },
  { description: "A client identity: the ServiceAccount whose SPIFFE ID (spiffe://<trust-domain>/ns/<namespace>/sa/<name>) the client presents over mTLS." },
);
export type RateLimitClientRef = Decoded<typeof RateLimitClientRef>;

/** A limit for named clients instead of the per-identity one. */
export const RateLimitOverride = closed(
  {
    ...RequestRateLimit.properties,
    clientRefs: Type.Array(RateLimitClientRef, {
      minItems: 1,
      maxItems: 256,
      description: "The clients this limit applies to. They share one bucket.",
      [HintKeyword]: "list the clients the override is for: clientRefs: [{kind: ServiceAccount, name: <service account>}]",
    }),
  },
  {
    description:
      "Traffic from the listed clients is limited by this bucket (shared by all of them) instead of the per-identity limit; the total limit still applies.",
  },
);
export type RateLimitOverride = Decoded<typeof RateLimitOverride>;

/** Which workloads and which of their inbound ports the policy applies to. */
export const RateLimitTargetRef = closed(
  {
    workloadSelector: Type.Optional(WorkloadSelector),
    port: Type.Optional(
      PortNumber({
        minimum: 1,
        description: "Inbound port (listener) of the workload to limit; every inbound port, each with its own buckets, when unset.",
      }),
    ),
  },
  {
    description:
      "The workloads (by label, in the policy's namespace; every workload of the namespace without workloadSelector) and optionally the port the limits apply to.",
    [HintKeyword]: "say which workloads to limit, e.g. targetRef: {workloadSelector: {matchLabels: {app: web}}, port: 8080}",
  },
);
export type RateLimitTargetRef = Decoded<typeof RateLimitTargetRef>;

/** Meshwork `HTTPLocalRateLimitPolicy` spec. */
export const HTTPLocalRateLimitPolicySpec = closed(
  {
    targetRef: RateLimitTargetRef,
    routes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253, description: "Name of an HTTP route (VirtualService http[].name)." }), {
        maxItems: 64,
        description:
          "Limit only requests that match these named VirtualService HTTP routes, each route with its own buckets; " +
          "all requests to the target when unset. Route-scoped limits apply before the target-wide policy's limits.",
      }),
    ),
    total: Type.Optional(
      closed(RequestRateLimit.properties, { description: "Overall rate limit for all traffic to the target. No overall limit when unset." }),
    ),
    identity: Type.Optional(
      closed(RequestRateLimit.properties, {
        description:
          "Fairness between clients: each client identity (SPIFFE ID) gets its own bucket with this limit; clients without an identity (plain text) share one. " +
          "Must not exceed total.",
      }),
    ),
    overrides: Type.Optional(
      Type.Array(RateLimitOverride, { maxItems: 256, description: "Limits for specific clients instead of identity; each must not exceed total." }),
    ),
  },
  {
    description:
      "Local HTTP rate limits on the inbound traffic of the selected workloads' sidecars. A limited request gets 429 with response flag RL " +
      "and x-envoy-ratelimited: true.",
  },
);
export type HTTPLocalRateLimitPolicySpec = Decoded<typeof HTTPLocalRateLimitPolicySpec>;
