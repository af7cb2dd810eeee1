// When a try may be retried, and how long to wait first: Envoy's router semantics for the retryOn
// conditions of a compiled RetryPolicy. Shared by the HTTP/1.1 and HTTP/2 data paths; the
// randomness of the backoff is injected.
import { hasRetryOn, type RetryPolicy } from "./parse-retry-on.ts";

/** Whether an upstream response with `status` is retried under `policy` (before attempts and budget are checked). */
export function retriesStatus(policy: RetryPolicy, status: number): boolean {
  if (policy.attempts === 0) return false;
  if (status >= 500 && hasRetryOn(policy, "5xx")) return true;
  if ((status === 502 || status === 503 || status === 504) && hasRetryOn(policy, "gateway-error")) return true;
  if (status === 409 && hasRetryOn(policy, "retriable-4xx")) return true;
  return hasRetryOn(policy, "retriable-status-codes") && policy.retriableStatusCodes.includes(status);
}

/**
 * Whether a try that got no response is retried: a connect failure (`connect-failure`, and the
 * broader `reset`, `5xx`, `gateway-error`) or a reset after connecting (`reset`, `5xx`), or a
 * per-try timeout (`5xx`, `gateway-error`, `reset`: Envoy treats it as a reset).
 */
export function retriesFailure(policy: RetryPolicy, failure: "connect-failure" | "reset" | "timeout"): boolean {
  if (policy.attempts === 0) return false;
  switch (failure) {
    case "connect-failure":
      return hasRetryOn(policy, "connect-failure") || hasRetryOn(policy, "reset") || hasRetryOn(policy, "5xx") || hasRetryOn(policy, "gateway-error");
    case "reset":
      return hasRetryOn(policy, "reset") || hasRetryOn(policy, "5xx");
    case "timeout":
      return hasRetryOn(policy, "5xx") || hasRetryOn(policy, "gateway-error") || hasRetryOn(policy, "reset");
  }
}

/**
 * Envoy's fully jittered exponential backoff before retry number `retry` (1 for the first
 * retry): uniform in [0, (2^retry − 1) × base), capped at the policy's maximum. `random` is in [0, 1).
 */
export function retryBackoffMs(policy: RetryPolicy, retry: number, random: number): number {
  const ceiling = Math.min(policy.backoffMaxMs, (2 ** retry - 1) * policy.backoffBaseMs);
  return Math.floor(random * ceiling);
}
