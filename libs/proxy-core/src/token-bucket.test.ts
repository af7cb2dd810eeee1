import { createSeededRandom, forEachSeed } from "@meshwork/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket.ts";

/** How many of `times` (ms, ascending) the bucket admits. */
function admitted(bucket: TokenBucket, times: readonly number[]): number[] {
  return times.filter((t) => bucket.take(t));
}

describe("TokenBucket", () => {
  it("starts full: admits a burst at once, then refuses", () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5 });
    expect(Array.from({ length: 7 }, () => bucket.take(1000))).toEqual([true, true, true, true, true, false, false]);
  });

  it("refills one token per 1/rate seconds, from the time passed in", () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1 });
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(99)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(150)).toBe(false);
    expect(bucket.take(200)).toBe(true);
  });

  it("accumulates fractional refills exactly enough (rate 3/s in 1/3 s steps)", () => {
    const bucket = new TokenBucket({ ratePerSecond: 3, burst: 1 });
    const times = Array.from({ length: 31 }, (_, i) => (i * 1000) / 3);
    expect(admitted(bucket, times)).toHaveLength(31);
  });

  it("never holds more than burst, however long it was idle", () => {
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 3 });
    bucket.take(0);
    expect(bucket.available(3_600_000)).toBe(3);
    expect(bucket.isFull(3_600_000)).toBe(true);
  });

  it("mints nothing when the clock goes backwards", () => {
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 });
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(5_000)).toBe(false);
    expect(bucket.take(10_500)).toBe(false);
    expect(bucket.take(11_000)).toBe(true);
  });

  it("take(n) is all or nothing, and hasTokens does not take", () => {
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 4 });
    expect(bucket.take(0, 3)).toBe(true);
    expect(bucket.hasTokens(0, 2)).toBe(false);
    expect(bucket.take(0, 2)).toBe(false);
    expect(bucket.hasTokens(0)).toBe(true);
    expect(bucket.available(0)).toBe(1);
    expect(bucket.take(0, 1)).toBe(true);
  });

  it("rejects a rate or burst it cannot honour", () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(/ratePerSecond/);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0.5 })).toThrow(/burst/);
  });

  it("over 10 s offered at 3× the rate, admits rate × 10 + burst", () => {
    forEachSeed({ runs: 20 }, (seed) => {
      const random = createSeededRandom(seed);
      const rate = random.int(1, 500);
      const burst = random.int(1, 2 * rate);
      const offered = 3 * rate * 10;
      // Poisson-like arrivals: uniform times over [0, 10 s], sorted.
      const times = Array.from({ length: offered }, () => random.next() * 10_000).sort((a, b) => a - b);
      const bucket = new TokenBucket({ ratePerSecond: rate, burst });
      const count = admitted(bucket, times).length;
      // Upper bound is exact (the bucket can never admit more); the lower bound allows for the
      // random arrivals leaving the bucket full for a moment (tokens lost to the cap).
      expect(count).toBeLessThanOrEqual(rate * 10 + burst);
      expect(count).toBeGreaterThanOrEqual(Math.floor(0.97 * (rate * 10 + burst)));
    });
  });

  it("property: in every window between two admissions, at most burst + rate × window are admitted", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 300 }),
        (rate, burst, raw) => {
          const times = [...raw].sort((a, b) => a - b);
          const bucket = new TokenBucket({ ratePerSecond: rate, burst });
          const ok = admitted(bucket, times);
          for (let i = 0; i < ok.length; i++) {
            for (let j = i; j < ok.length; j++) {
              const windowMs = (ok[j] as number) - (ok[i] as number);
              expect(j - i + 1).toBeLessThanOrEqual(burst + (rate * windowMs) / 1000 + 1e-6);
            }
          }
        },
      ),
      { numRuns: 200, seed: 20261122 },
    );
  });

  it("property: agrees with a reference model counting in integer micro-tokens", () => {
    // Reference: tokens scaled by 1000 × 1000 so whole-ms times refill by integers; no floats.
    const reference = (rate: number, burst: number, times: readonly number[]): boolean[] => {
      const scale = 1_000_000;
      let tokens = burst * scale;
      let last: number | undefined;
      return times.map((t) => {
        if (last !== undefined && t > last) tokens = Math.min(burst * scale, tokens + (t - last) * rate * 1000);
        if (last === undefined || t > last) last = t;
        if (tokens < scale) return false;
        tokens -= scale;
        return true;
      });
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 3_000 }), { maxLength: 400 }),
        (rate, burst, raw) => {
          const times = [...raw].sort((a, b) => a - b);
          const bucket = new TokenBucket({ ratePerSecond: rate, burst });
          expect(times.map((t) => bucket.take(t))).toEqual(reference(rate, burst, times));
        },
      ),
      { numRuns: 300, seed: 20261122 },
    );
  });
});
