// Istio HTTPRetry compiled into a retry policy: retryOn tokens become a bitset tested with one AND
// per upstream outcome, numeric tokens become retriable status codes (as Istio translates them).
import { retryOnTokens } from "@meshwork/config/retry-on-tokens";

// The retryOn conditions are the list libs/config validates against; their order is the bit order.

export type RetryOnToken = (typeof retryOnTokens)[number];

const bitOf = new Map<string, number>(retryOnTokens.map((token, i) => [token, 1 << i]));

/** Bit of `token` in RetryPolicy.retryOn. */
export function retryOnBit(token: RetryOnToken): number {
  return bitOf.get(token) as number;
}

/** A compiled retry policy; `attempts` 0 means no retries. */
export interface RetryPolicy {
  /** Retries after the first try. */
  readonly attempts: number;
  /** Timeout of each try; undefined = bounded only by the route timeout. */
  readonly perTryTimeoutMs: number | undefined;
  /** Bitset of retryOnTokens. */
  readonly retryOn: number;
  readonly retriableStatusCodes: readonly number[];
  /** Tokens Envoy does not know; kept for the config dump, ignored when deciding. */
  readonly unknownTokens: readonly string[];
  /** Envoy's default base interval 25 ms; the maximum is 10 × base (Envoy router docs, "x-envoy-max-retries"). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly retryIgnorePreviousHosts: boolean;
  readonly retryRemoteLocalities: boolean;
}

/** Istio's retry policy when a route sets none (pilot/pkg/networking/core/route/retry: DefaultPolicy). */
export const defaultRetryOn = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/** HTTPRetry as decoded by @meshwork/config (durations in ms). */
export interface RetrySpec {
  readonly attempts?: number | undefined;
  readonly perTryTimeout?: number | undefined;
  readonly retryOn?: string | undefined;
  readonly retryRemoteLocalities?: boolean | undefined;
  readonly retryIgnorePreviousHosts?: boolean | undefined;
  readonly backoff?: number | undefined;
}

/**
 * Compiles an HTTPRetry. No spec gives Istio's default: 2 attempts on defaultRetryOn with 503 as
 * the retriable status code. `attempts: 0` disables retries.
 */
export function compileRetryPolicy(spec: RetrySpec | undefined): RetryPolicy {
  const parsed = parseRetryOn(spec?.retryOn ?? defaultRetryOn);
  const codes = spec?.retryOn === undefined ? [503] : parsed.retriableStatusCodes;
  const backoffBaseMs = spec?.backoff ?? 25;
  return {
    attempts: spec === undefined ? 2 : (spec.attempts ?? 2),
    perTryTimeoutMs: spec?.perTryTimeout,
    retryOn: parsed.retryOn,
    retriableStatusCodes: codes,
    unknownTokens: parsed.unknownTokens,
    backoffBaseMs,
    backoffMaxMs: backoffBaseMs * 10,
    retryIgnorePreviousHosts: spec?.retryIgnorePreviousHosts ?? true,
    retryRemoteLocalities: spec?.retryRemoteLocalities ?? false,
  };
}

/**
 * Parses a comma-separated retryOn. Numbers become retriable status codes and imply
 * `retriable-status-codes` (Istio does the same); unknown tokens are reported, not fatal.
 */
export function parseRetryOn(text: string): { retryOn: number; retriableStatusCodes: number[]; unknownTokens: string[] } {
  let retryOn = 0;
  const retriableStatusCodes: number[] = [];
  const unknownTokens: string[] = [];
  for (const raw of text.split(",")) {
    const token = raw.trim();
    if (token === "") continue;
    const bit = bitOf.get(token);
    if (bit !== undefined) {
      retryOn |= bit;
    } else if (/^[1-5][0-9][0-9]$/.test(token)) {
      retriableStatusCodes.push(Number(token));
      retryOn |= retryOnBit("retriable-status-codes");
    } else {
      unknownTokens.push(token);
    }
  }
  return { retryOn, retriableStatusCodes, unknownTokens };
}

/** Whether `policy` retries on `token`. */
export function hasRetryOn(policy: RetryPolicy, token: RetryOnToken): boolean {
  return (policy.retryOn & retryOnBit(token)) !== 0;
}

/** The tokens of a policy, in bit order (for test output and the config dump). */
export function describeRetryOn(policy: RetryPolicy): string {
  return retryOnTokens.filter((token) => hasRetryOn(policy, token)).join(",");
}
