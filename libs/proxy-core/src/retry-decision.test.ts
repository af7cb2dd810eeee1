import { describe, expect, it } from "vitest";
import { compileRetryPolicy } from "./parse-retry-on.ts";
import { retriesFailure, retriesStatus, retryBackoffMs } from "./retry-decision.ts";

describe("retriesStatus", () => {
  it.each([
    ["5xx", 500, true],
    ["5xx", 404, false],
    ["gateway-error", 503, true],
    ["gateway-error", 500, false],
    ["retriable-4xx", 409, true],
    ["retriable-4xx", 404, false],
    ["409,503", 503, true],
    ["409,503", 409, true],
    ["409,503", 500, false],
    ["connect-failure", 503, false],
  ] as const)("retryOn %s, status %i → %s", (retryOn, status, expected) => {
    expect(retriesStatus(compileRetryPolicy({ attempts: 2, retryOn }), status)).toBe(expected);
  });

  it("never retries with attempts 0", () => {
    expect(retriesStatus(compileRetryPolicy({ attempts: 0, retryOn: "5xx" }), 503)).toBe(false);
  });

  it("Istio's default policy retries 503 only", () => {
    const policy = compileRetryPolicy(undefined);
    expect([retriesStatus(policy, 503), retriesStatus(policy, 502), retriesStatus(policy, 500)]).toEqual([true, false, false]);
  });
});

describe("retriesFailure", () => {
  it.each([
    ["connect-failure", "connect-failure", true],
    ["reset", "connect-failure", true],
    ["gateway-error", "connect-failure", true],
    ["retriable-4xx", "connect-failure", false],
    ["reset", "reset", true],
    ["5xx", "reset", true],
    ["gateway-error", "reset", false],
    ["connect-failure", "reset", false],
    ["gateway-error", "timeout", true],
    ["connect-failure", "timeout", false],
  ] as const)("retryOn %s, failure %s → %s", (retryOn, failure, expected) => {
    expect(retriesFailure(compileRetryPolicy({ attempts: 2, retryOn }), failure)).toBe(expected);
  });
});

describe("retryBackoffMs", () => {
  const policy = compileRetryPolicy({ attempts: 5, retryOn: "5xx" });

  it("grows as (2^n − 1) × 25 ms and stops at 10 × base", () => {
    expect([1, 2, 3, 4, 5].map((n) => retryBackoffMs(policy, n, 0.999999))).toEqual([24, 74, 174, 249, 249]);
  });

  it("is fully jittered: 0 at the bottom of the range", () => {
    expect(retryBackoffMs(policy, 3, 0)).toBe(0);
  });
});
