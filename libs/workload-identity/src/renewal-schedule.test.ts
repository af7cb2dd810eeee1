// Renewal timing: half-life ± jitter from receipt, and capped exponential backoff.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renewalDelayMs, retryDelayMs } from "./renewal-schedule.ts";

describe("renewalDelayMs", () => {
  it("is half the remaining lifetime without jitter", () => {
    expect(renewalDelayMs({ receivedAtMs: 1000, notAfterMs: 3_601_000, jitterFraction: 0.1, random: 0.5 })).toBe(1_800_000);
  });

  it("stays within 50 % ± jitter of the lifetime", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (lifetime, random) => {
        const delay = renewalDelayMs({ receivedAtMs: 0, notAfterMs: lifetime, jitterFraction: 0.1, random });
        return delay >= Math.floor(lifetime * 0.4) && delay <= Math.ceil(lifetime * 0.6);
      }),
      { seed: 6 },
    );
  });
});

describe("retryDelayMs", () => {
  const backoff = { initialMs: 100, maxMs: 10_000 };
  it("doubles per attempt up to the maximum, with equal jitter", () => {
    expect([0, 1, 2, 3].map((a) => retryDelayMs(a, backoff, 1))).toEqual([100, 200, 400, 800]);
    expect(retryDelayMs(20, backoff, 1)).toBe(10_000);
    expect(retryDelayMs(2, backoff, 0)).toBe(200);
  });

  it("retries before the current certificate expires", () => {
    expect(retryDelayMs(10, backoff, 1, { nowMs: 0, deadlineMs: 3000 })).toBe(1500);
    expect(retryDelayMs(10, backoff, 1, { nowMs: 5000, deadlineMs: 3000 })).toBe(0);
  });
});
