import { createSeededRandom } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { expectDistribution } from "../tests/chi-square.ts";
import { countPicks, makeEndpoints } from "../tests/endpoints.ts";
import { createRandomBalancer } from "./random-balancer.ts";

describe("createRandomBalancer", () => {
  it("picks in proportion to weight (chi-square over 100k seeded picks)", () => {
    const weights = [1, 2, 3, 4];
    const random = createSeededRandom(11);
    const lb = createRandomBalancer(makeEndpoints(4, (i) => ({ weight: weights[i] as number })), () => random.next());
    expectDistribution(countPicks(4, 100_000, () => lb.pick()), weights);
  });

  it("would notice a skew: uniform picks do not fit 1:2:3:4", () => {
    const random = createSeededRandom(11);
    const lb = createRandomBalancer(makeEndpoints(4), () => random.next());
    expect(() => expectDistribution(countPicks(4, 100_000, () => lb.pick()), [1, 2, 3, 4])).toThrow(/do not fit/);
  });

  it("avoids unhealthy endpoints, but spreads over all of them in panic (< 50 % healthy)", () => {
    const random = createSeededRandom(3);
    const mostlyHealthy = createRandomBalancer(makeEndpoints(4, (i) => ({ healthy: i !== 0 })), () => random.next());
    expect(countPicks(4, 10_000, () => mostlyHealthy.pick())[0]).toBe(0);
    const panicking = createRandomBalancer(makeEndpoints(4, (i) => ({ healthy: i === 0 })), () => random.next());
    expectDistribution(countPicks(4, 40_000, () => panicking.pick()), [1, 1, 1, 1]);
  });
});
