import { describe, expect, it } from "vitest";
import { shareEqualStrings } from "./share-equal-strings.ts";

describe("shareEqualStrings", () => {
  it("keeps every value, and equal strings become the first one met", () => {
    // Strings built at run time: equal content, distinct string objects until shared.
    const v1 = ["v", "1"].join("");
    const input = { labels: [{ app: "reviews", version: v1 }, { version: ["v", "1"].join("") }], ports: [["h", "ttp"].join(""), "http", 80], nested: { deep: [[v1]] }, none: null };
    const copy = structuredClone(input);
    const out = shareEqualStrings(input);
    expect(out).toBe(input);
    expect(out).toEqual(copy);
  });

  it("leaves non-objects alone", () => {
    expect(shareEqualStrings("text")).toBe("text");
    expect(shareEqualStrings(null)).toBe(null);
    expect(shareEqualStrings(7)).toBe(7);
  });
});
