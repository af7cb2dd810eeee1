import { describe, expect, it } from "vitest";
import { flatConcat } from "./flat-concat.ts";

describe("flatConcat", () => {
  it("equals the template literal of the same parts", () => {
    const host = "reviews.default.svc.cluster.local";
    expect(flatConcat("outbound|", 9080, "|", "v1", "|", host)).toBe(`outbound|${9080}|v1|${host}`);
    expect(flatConcat("outbound|", "", "|", "", "|", host)).toBe(`outbound|||${host}`);
    expect(flatConcat()).toBe("");
    expect(flatConcat(0, "")).toBe("0");
  });
});
