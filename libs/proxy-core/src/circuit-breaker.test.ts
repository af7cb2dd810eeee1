import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuit-breaker.ts";

describe("CircuitBreaker", () => {
  it("is effectively unlimited by default (Istio sets Envoy's limits to 2^32-1)", () => {
    const breaker = new CircuitBreaker(undefined);
    for (let i = 0; i < 5000; i++) expect(breaker.tryAcquire("pending-requests").ok).toBe(true);
    expect(breaker.limits.connections).toBe(2 ** 32 - 1);
  });

  it("refuses with flag UO at each limit, counts the overflow, and admits again after a release", () => {
    const breaker = new CircuitBreaker({ tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 2, http2MaxRequests: 3, maxRetries: 1 } });
    expect(breaker.tryAcquire("connections")).toEqual({ ok: true });
    expect(breaker.tryAcquire("connections")).toEqual({ ok: false, resource: "connections", flag: "UO" });
    expect(breaker.tryAcquire("pending-requests").ok && breaker.tryAcquire("pending-requests").ok).toBe(true);
    expect(breaker.tryAcquire("pending-requests").ok).toBe(false);
    expect(breaker.tryAcquire("retries").ok).toBe(true);
    expect(breaker.tryAcquire("retries")).toEqual({ ok: false, resource: "retries", flag: "UO" });
    breaker.release("retries");
    expect(breaker.tryAcquire("retries").ok).toBe(true);
    expect(breaker.overflows).toEqual({ connections: 1, "pending-requests": 1, requests: 0, retries: 1 });
  });

  it("spends a connection after maxRequestsPerConnection requests (0 = unlimited)", () => {
    expect(new CircuitBreaker({ http: { maxRequestsPerConnection: 1 } }).isConnectionSpent(1)).toBe(true);
    expect(new CircuitBreaker({ http: { maxRequestsPerConnection: 2 } }).isConnectionSpent(1)).toBe(false);
    expect(new CircuitBreaker(undefined).isConnectionSpent(10_000)).toBe(false);
  });

  it("treats a release without an acquire as a broken invariant", () => {
    expect(() => new CircuitBreaker(undefined).release("requests")).toThrow(/without a matching acquire/);
  });
});
