import { createSeededRandom } from "@meshwork/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectDistribution } from "../tests/chi-square.ts";
import { pickWeighted } from "./pick-weighted.ts";
import type { RouteAction, RouteDestination } from "./route-table.ts";

type Forward = Extract<RouteAction, { type: "forward" }>;

function forward(weights: readonly number[]): Forward {
  let cumulative = 0;
  const destinations = weights.map((weight, i): RouteDestination => {
    cumulative += weight;
    return {
      host: `h${i}`,
      subset: undefined,
      port: undefined,
      cluster: `c${i}`,
      subsetLabels: {},
      weight,
      cumulativeWeight: cumulative,
      requestHeaders: undefined,
      responseHeaders: undefined,
    };
  });
  return { type: "forward", destinations, totalWeight: cumulative };
}

describe("pickWeighted", () => {
  it("splits traffic by weight / sum of weights (chi-square, 100k seeded draws)", () => {
    const weights = [70, 20, 10, 0];
    const action = forward(weights);
    const random = createSeededRandom(7);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) {
      const index = Number(pickWeighted(action, random.next()).cluster.slice(1));
      counts[index] = (counts[index] ?? 0) + 1;
    }
    expect(counts[3]).toBe(0);
    expectDistribution(counts, weights);
  });

  it("maps [0,1) onto cumulative intervals: never a weight-0 destination, always a valid one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 8 }).filter((w) => w.some((x) => x > 0)),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (weights, r) => {
          const action = forward(weights);
          const chosen = pickWeighted(action, r);
          const index = action.destinations.indexOf(chosen);
          const before = index === 0 ? 0 : (action.destinations[index - 1] as RouteDestination).cumulativeWeight;
          expect(chosen.weight).toBeGreaterThan(0);
          expect(r * action.totalWeight).toBeGreaterThanOrEqual(before);
          expect(r * action.totalWeight).toBeLessThan(chosen.cumulativeWeight);
        },
      ),
      { seed: 42 },
    );
  });
});
