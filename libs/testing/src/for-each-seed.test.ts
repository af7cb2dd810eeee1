import { describe, expect, it } from "vitest";
import { forEachSeed, forEachSeedAsync, seedsToRun, withSeed } from "./for-each-seed.ts";

describe("seedsToRun", () => {
  it("runs consecutive seeds from 1 by default", () => {
    expect(seedsToRun({ runs: 3, env: {} })).toEqual([1, 2, 3]);
    expect(seedsToRun({ runs: 2, firstSeed: 10, env: {} })).toEqual([10, 11]);
  });

  it("SEED runs just that seed; SEED_RUNS and SEED_START widen the run", () => {
    expect(seedsToRun({ runs: 100, env: { SEED: "77" } })).toEqual([77]);
    expect(seedsToRun({ runs: 2, env: { SEED_RUNS: "4", SEED_START: "1000" } })).toEqual([1000, 1001, 1002, 1003]);
  });

  it("rejects malformed variables instead of quietly running fewer seeds", () => {
    expect(() => seedsToRun({ runs: 1, env: { SEED: "abc" } })).toThrow("SEED=abc is not an integer");
    expect(() => seedsToRun({ runs: 1, env: { SEED_RUNS: "0" } })).toThrow("SEED_RUNS=0 is not a positive integer");
  });
});

describe("forEachSeed", () => {
  it("names the failing seed and how to rerun it", () => {
    const seen: number[] = [];
    expect(() =>
      forEachSeed({ runs: 10, env: {} }, (seed) => {
        seen.push(seed);
        expect(seed).toBeLessThan(4);
      }),
    ).toThrow(/^seed 4 \(rerun with SEED=4\): /);
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it("does the same for async runs", async () => {
    await expect(forEachSeedAsync({ runs: 3, env: {} }, async (seed) => { if (seed === 2) throw new Error("bad"); }))
      .rejects.toThrow("seed 2 (rerun with SEED=2): bad");
  });

  it("withSeed passes results through and wraps thrown non-errors", () => {
    expect(withSeed(1, () => 5)).toBe(5);
    expect(() => withSeed(8, () => { throw "text"; })).toThrow("seed 8 (rerun with SEED=8): text");
  });
});
