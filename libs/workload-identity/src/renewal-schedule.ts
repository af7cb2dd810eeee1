// When a workload agent renews its SVID (DESIGN.md §3.3): at 50 % of the lifetime left when it
// was received, ± jitter so a fleet started together does not renew together; after a failure,
// exponential backoff with jitter. Pure: time and randomness are inputs.

/** Delay from receipt to renewal: `(notAfter − receivedAt) × (0.5 ± jitterFraction)`. */
export function renewalDelayMs(options: { readonly receivedAtMs: number; readonly notAfterMs: number; readonly jitterFraction: number; readonly random: number }): number {
  const lifetime = Math.max(0, options.notAfterMs - options.receivedAtMs);
  return Math.round(lifetime * (0.5 + options.jitterFraction * (2 * options.random - 1)));
}

/** Backoff limits. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (0-based) after a failed renewal: `initialMs × 2^attempt`
 * capped at `maxMs`, then "equal jitter" (half fixed, half random), and never later than
 * `deadlineMs − nowMs` when a deadline (the current certificate's expiry) is given.
 */
export function retryDelayMs(attempt: number, backoff: Backoff, random: number, limit?: { readonly nowMs: number; readonly deadlineMs: number }): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  const delay = Math.round(ceiling / 2 + (ceiling / 2) * random);
  if (!limit) return delay;
  return Math.max(0, Math.min(delay, Math.floor((limit.deadlineMs - limit.nowMs) / 2)));
}
