// A token bucket driven by the caller's clock: `ratePerSecond` tokens flow in continuously up to
// `burst`, each request takes one. Same admission as Envoy's local rate limit token bucket and as
// the GCRA Linkerd uses (governor's Quota::per_second(n): emission interval 1/n s, burst n).
// No timers: the refill is computed from the time passed to each call.

/** Tolerance when comparing fractional token counts, so 0.1 + 0.2 worth of refill still buys a token. */
const EPSILON = 1e-9;

export interface TokenBucketOptions {
  /** Sustained rate, tokens per second; > 0. */
  readonly ratePerSecond: number;
  /** Bucket size: the most requests admitted at once after a quiet period; ≥ 1. */
  readonly burst: number;
}

/**
 * One bucket. It starts full; the first call fixes its time origin. Times are milliseconds from
 * any monotonic clock (`performance.now()`); a time earlier than the last one seen counts as no
 * time passed, so a clock step backwards never mints tokens.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  private tokens: number;
  private lastMs: number | undefined = undefined;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new RangeError(`TokenBucket: ratePerSecond must be a positive finite number, got ${options.ratePerSecond}`);
    }
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) {
      throw new RangeError(`TokenBucket: burst must be a finite number ≥ 1, got ${options.burst}`);
    }
    this.ratePerSecond = options.ratePerSecond;
    this.burst = options.burst;
    this.tokens = options.burst;
  }

  /** Tokens available at `nowMs` (fractional), after refilling. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  /** Whether `n` tokens could be taken at `nowMs`, without taking them. */
  hasTokens(nowMs: number, n = 1): boolean {
    this.refill(nowMs);
    return this.tokens + EPSILON >= n;
  }

  /** Takes `n` tokens at `nowMs` if there are that many; otherwise takes nothing and returns false. */
  take(nowMs: number, n = 1): boolean {
    this.refill(nowMs);
    if (this.tokens + EPSILON < n) return false;
    this.tokens = Math.max(0, this.tokens - n);
    return true;
  }

  /** Whether the bucket is full at `nowMs`: forgetting it loses nothing (a new one starts full). */
  isFull(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens + EPSILON >= this.burst;
  }

  private refill(nowMs: number): void {
    const last = this.lastMs;
    if (last === undefined || nowMs > last) {
      if (last !== undefined) this.tokens = Math.min(this.burst, this.tokens + ((nowMs - last) * this.ratePerSecond) / 1000);
      this.lastMs = nowMs;
    }
  }
}
