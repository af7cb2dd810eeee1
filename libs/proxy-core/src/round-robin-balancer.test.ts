import { describe, expect, it } from "vitest";
import { expectDistribution } from "../tests/chi-square.ts";
import { countPicks, makeEndpoints } from "../tests/endpoints.ts";
import { createRoundRobinBalancer } from "./round-robin-balancer.ts";

describe("createRoundRobinBalancer", () => {
  it("cycles through equal-weight endpoints in order from the start offset", () => {
    const lb = createRoundRobinBalancer(makeEndpoints(3), { startOffset: 1 });
    expect([lb.pick(), lb.pick(), lb.pick(), lb.pick()]).toEqual([1, 2, 0, 1]);
  });

  it("gives each endpoint exactly `weight` picks in every window of sum(weights), interleaved (smooth WRR)", () => {
    const weights = [5, 1, 1];
    const lb = createRoundRobinBalancer(makeEndpoints(3, (i) => ({ weight: weights[i] as number })));
    const window = Array.from({ length: 7 }, () => lb.pick());
    expect(window).toEqual([0, 0, 1, 0, 2, 0, 0]); // nginx's documented sequence for {a:5, b:1, c:1}: a a b a c a a
    expect(countPicks(3, 7 * 100, () => lb.pick())).toEqual([500, 100, 100]);
  });

  it("fits the weights over a long run (chi-square) and skips unhealthy endpoints", () => {
    const weights = [3, 2, 1, 4];
    const lb = createRoundRobinBalancer(makeEndpoints(4, (i) => ({ weight: weights[i] as number, healthy: i !== 3 })));
    const counts = countPicks(4, 60_000, () => lb.pick());
    expect(counts[3]).toBe(0);
    expectDistribution(counts, [3, 2, 1, 0]);
  });

  it("returns -1 with no endpoints", () => {
    expect(createRoundRobinBalancer([]).pick()).toBe(-1);
  });
});
