// The per-identity token bucket: burst, refill with time, independence of identities, off switch.
import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./token-bucket.ts";

describe("TokenBuckets", () => {
  it("allows a burst, then refills at the rate", () => {
    const buckets = new TokenBuckets({ ratePerSecond: 2, burst: 3 });
    expect([1, 2, 3, 4].map(() => buckets.take("a", 0))).toEqual([true, true, true, false]);
    expect(buckets.take("a", 499)).toBe(false);
    expect(buckets.take("a", 500)).toBe(true);
    expect(buckets.take("a", 500)).toBe(false);
  });

  it("keeps identities apart", () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1 });
    expect(buckets.take("a", 0)).toBe(true);
    expect(buckets.take("b", 0)).toBe(true);
    expect(buckets.take("a", 0)).toBe(false);
  });

  it("never refuses with rate 0", () => {
    const buckets = new TokenBuckets({ ratePerSecond: 0, burst: 0 });
    expect(Array.from({ length: 100 }, () => buckets.take("a", 0)).every(Boolean)).toBe(true);
  });

  it("prunes idle full buckets beyond the size limit", () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1 }, 10);
    for (let i = 0; i < 11; i++) buckets.take(`id-${i}`, 0);
    buckets.take("late", 10_000);
    expect(buckets.size).toBeLessThanOrEqual(1);
  });
});
