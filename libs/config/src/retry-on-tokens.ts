// Istio's retryOn tokens, in a module of their own: the proxy's hot path (libs/proxy-core
// parse-retry-on.ts) imports them through `@meshwork/config/retry-on-tokens` without loading the
// schemas and YAML parsers of the whole library.

/** Envoy's retry conditions (router filter x-envoy-retry-on and x-envoy-retry-grpc-on) that Istio's retryOn accepts. */
export const retryOnTokens = [
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "envoy-ratelimited",
  "http3-post-connect-failure",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
] as const;
