import { describe, expect, it } from "vitest";
import { expectDistribution } from "../tests/chi-square.ts";
import { hashString } from "./hash-string.ts";

describe("hashString", () => {
  it("is stable across runs and platforms (reference values; changing them reshuffles every ring)", () => {
    expect([hashString(""), hashString("a"), hashString("10.0.0.1:8080"), hashString("10.0.0.1:8080", 1), hashString("ü€")]).toEqual([
      2872998923, 444641715, 3150401971, 1309561270, 3979377898,
    ]);
  });

  it("spreads similar keys evenly over buckets (chi-square over 16 buckets of the top bits)", () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 32_000; i++) {
      const bucket = hashString(`user-${i}`) >>> 28;
      counts[bucket] = (counts[bucket] ?? 0) + 1;
    }
    expectDistribution(counts, new Array<number>(16).fill(1));
  });
});
