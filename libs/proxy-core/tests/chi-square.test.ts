import { describe, expect, it } from "vitest";
import { chiSquare, chiSquarePValue, expectDistribution } from "./chi-square.ts";

describe("chiSquare", () => {
  it("gives the textbook p-values (df=3: 7.815 at 0.05, 16.27 at 0.001)", () => {
    expect(chiSquarePValue(7.815, 3)).toBeCloseTo(0.05, 2);
    expect(chiSquarePValue(16.27, 3)).toBeCloseTo(0.001, 3);
  });

  it("accepts a fair sample and rejects a skewed one", () => {
    expect(chiSquare([100, 100], [1, 1])).toBe(0);
    expect(() => expectDistribution([250, 250, 250, 250], [1, 1, 1, 1])).not.toThrow();
    expect(() => expectDistribution([300, 200, 250, 250], [1, 1, 1, 1])).toThrow(/do not fit/);
    expect(() => expectDistribution([1, 99], [0, 1])).toThrow(/do not fit/);
  });
});
