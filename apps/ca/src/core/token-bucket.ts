// Per-identity rate limiting for issuance: one token bucket per SPIFFE ID (refill `ratePerSecond`,
// capacity `burst`). Time is an input; buckets of idle identities are pruned as the map grows.

/** Limits of every bucket. `ratePerSecond` 0 turns limiting off. */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Token buckets keyed by identity. */
export class TokenBuckets {
  readonly #limit: RateLimit;
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxIdle: number;

  /** `maxEntries`: above this many buckets, full ones are dropped (they equal a fresh bucket). */
  constructor(limit: RateLimit, maxEntries = 100_000) {
    this.#limit = limit;
    this.#maxIdle = maxEntries;
  }

  /** Takes one token for `key` at `nowMs`; false when the bucket is empty (the request is refused). */
  take(key: string, nowMs: number): boolean {
    const { ratePerSecond, burst } = this.#limit;
    if (ratePerSecond <= 0) return true;
    const bucket = this.#buckets.get(key) ?? { tokens: burst, atMs: nowMs };
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, nowMs - bucket.atMs) / 1000) * ratePerSecond);
    bucket.atMs = nowMs;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxIdle) this.#prune(nowMs);
    return true;
  }

  /** How many identities have a bucket (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #prune(nowMs: number): void {
    const { ratePerSecond, burst } = this.#limit;
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((nowMs - b.atMs) / 1000) * ratePerSecond >= burst) this.#buckets.delete(key);
    }
  }
}
