import { describe, expect, it } from "vitest";
import { logIndex, nodeId, term } from "./ids.ts";

describe("branded ids", () => {
  it("nodeId() accepts any non-empty string and refuses the empty one", () => {
    expect(nodeId("n1")).toBe("n1");
    expect(() => nodeId("")).toThrow(RangeError);
  });

  it("term() and logIndex() accept non-negative safe integers only", () => {
    expect(term(0)).toBe(0);
    expect(logIndex(42)).toBe(42);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => term(bad)).toThrow(RangeError);
      expect(() => logIndex(bad)).toThrow(RangeError);
    }
  });
});
