import { describe, expect, it } from "vitest";
import { compileRetryPolicy, describeRetryOn, hasRetryOn, parseRetryOn } from "./parse-retry-on.ts";

describe("parseRetryOn", () => {
  it("sets one bit per known token and keeps unknown ones aside", () => {
    const parsed = parseRetryOn("5xx, reset,bogus");
    expect(parsed.unknownTokens).toEqual(["bogus"]);
    const policy = compileRetryPolicy({ retryOn: "5xx, reset,bogus" });
    expect(hasRetryOn(policy, "5xx")).toBe(true);
    expect(hasRetryOn(policy, "reset")).toBe(true);
    expect(hasRetryOn(policy, "gateway-error")).toBe(false);
  });

  it("turns numeric tokens into retriable status codes and implies retriable-status-codes", () => {
    const policy = compileRetryPolicy({ attempts: 3, retryOn: "gateway-error,429,503" });
    expect(policy.retriableStatusCodes).toEqual([429, 503]);
    expect(describeRetryOn(policy)).toBe("gateway-error,retriable-status-codes");
  });
});

describe("compileRetryPolicy", () => {
  it("gives Istio's default policy when the route sets no retries", () => {
    const policy = compileRetryPolicy(undefined);
    expect(policy.attempts).toBe(2);
    expect(policy.retriableStatusCodes).toEqual([503]);
    expect(describeRetryOn(policy)).toBe("connect-failure,refused-stream,retriable-status-codes,cancelled,unavailable");
  });

  it("disables retries with attempts: 0 and keeps perTryTimeout in ms", () => {
    expect(compileRetryPolicy({ attempts: 0 }).attempts).toBe(0);
    expect(compileRetryPolicy({ attempts: 3, perTryTimeout: 2000 }).perTryTimeoutMs).toBe(2000);
  });
});
