import { describe, expect, it } from "vitest";
import { isTokenRange, isTokenText } from "./http-token.ts";

describe("token characters (RFC 9110 §5.6.2)", () => {
  it("checks a range of a string in place", () => {
    const line = "Content-Type: text/plain";
    expect(isTokenRange(line, 0, 12)).toBe(true);
    expect(isTokenRange(line, 0, 13)).toBe(false); // the colon
    expect(isTokenRange(line, 5, 5)).toBe(false); // empty
    expect(isTokenRange("a b", 0, 3)).toBe(false);
    expect(isTokenRange("na\u00efve", 0, 5)).toBe(false);
  });

  it("isTokenText is the whole-string case", () => {
    expect(isTokenText("GET")).toBe(true);
    expect(isTokenText("")).toBe(false);
    expect(isTokenText("x-b3-traceid")).toBe(true);
    expect(isTokenText("bad\u0000")).toBe(false);
  });
});
