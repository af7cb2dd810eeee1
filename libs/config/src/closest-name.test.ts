import { describe, expect, it } from "vitest";
import { closestName, editDistance } from "./closest-name.ts";

describe("editDistance", () => {
  it.each([
    ["host", "host", 0],
    ["hsot", "host", 2],
    ["subest", "subset", 2],
    ["Timeout", "timeout", 0],
    ["", "abc", 3],
  ])("%s → %s is %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe("closestName", () => {
  const fields = ["destination", "weight", "headers"];
  it("suggests a near typo", () => {
    expect(closestName("destinaton", fields)).toBe("destination");
    expect(closestName("wieght", fields)).toBe("weight");
  });
  it("suggests nothing for an unrelated name", () => {
    expect(closestName("retries", fields)).toBeUndefined();
  });
});
