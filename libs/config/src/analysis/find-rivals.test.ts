import { describe, expect, it } from "vitest";
import { findRivals } from "./find-rivals.ts";
import { selectorKey } from "./selector-key.ts";

describe("findRivals", () => {
  it("pairs owners that share a group, in input order, with the first group they share", () => {
    const groups: Record<string, string[]> = { a: ["w1", "w2"], b: ["w2", "w3"], c: ["w3"], d: ["w4"] };
    const rivals = findRivals(["a", "b", "c", "d"], (o) => groups[o] ?? [], (w) => `e.g. ${w}`);
    expect([...rivals.entries()].map(([o, others]) => [o, [...others.entries()]])).toEqual([
      ["a", [["b", "e.g. w2"]]],
      ["b", [["a", "e.g. w2"], ["c", "e.g. w3"]]],
      ["c", [["b", "e.g. w3"]]],
    ]);
  });

  it("groups identical selectors whatever the order of their labels", () => {
    expect(selectorKey({ version: "v1", app: "reviews" })).toBe(selectorKey({ app: "reviews", version: "v1" }));
    const selectors: Record<string, Record<string, string>> = { a: { app: "x", v: "1" }, b: { v: "1", app: "x" }, c: { app: "x" } };
    const rivals = findRivals(["a", "b", "c"], (o) => [selectorKey(selectors[o] ?? {})], () => "the same selector");
    expect([...rivals.keys()]).toEqual(["a", "b"]);
  });
});
