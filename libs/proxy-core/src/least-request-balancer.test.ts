import { createSeededRandom } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { expectDistribution } from "../tests/chi-square.ts";
import { countPicks, makeEndpoints } from "../tests/endpoints.ts";
import { createLeastRequestBalancer } from "./least-request-balancer.ts";

describe("createLeastRequestBalancer (power of two choices)", () => {
  it("chooses a busy endpoint only when both draws land on it: P = 1/n² (chi-square)", () => {
    const random = createSeededRandom(5);
    const active = [0, 0, 0, 10];
    const lb = createLeastRequestBalancer(makeEndpoints(4), { random: () => random.next(), activeRequests: (i) => active[i] ?? 0 });
    const busy = 1 / 16;
    const idle = (1 - busy) / 3;
    expectDistribution(countPicks(4, 80_000, () => lb.pick()), [idle, idle, idle, busy]);
  });

  it("steers a live load toward balance when picks add requests", () => {
    const random = createSeededRandom(9);
    const active = [50, 0, 0, 0, 0];
    const lb = createLeastRequestBalancer(makeEndpoints(5), { random: () => random.next(), activeRequests: (i) => active[i] ?? 0 });
    for (let i = 0; i < 200; i++) {
      const p = lb.pick();
      active[p] = (active[p] ?? 0) + 1;
    }
    // 250 requests over 5 endpoints: P2C evens them out; uniform random picks would leave endpoint 0 near 90.
    expect(Math.max(...active) - Math.min(...active)).toBeLessThanOrEqual(12);
    expect(active[0]).toBeLessThanOrEqual(56);
  });

  it("returns -1 with no endpoints", () => {
    expect(createLeastRequestBalancer([], { random: () => 0, activeRequests: () => 0 }).pick()).toBe(-1);
  });
});
