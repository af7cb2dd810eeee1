import { describe, expect, it } from "vitest";
import { re2Problem } from "./re2-syntax.ts";

describe("re2Problem", () => {
  it("checks RE2 regexes", () => {
    expect(re2Problem("^/api/v[0-9]+/.*")).toBeUndefined();
    expect(re2Problem("[]a]")).toBeUndefined();
    expect(re2Problem("")).toBe("is empty");
    expect(re2Problem("a".repeat(1025))).toBe("is 1025 characters long; at most 1024 allowed");
    expect(re2Problem("[a-")).toMatch(/^does not compile/);
  });
});
