// Spent one-time tokens are remembered until they expire, then forgotten.
import { describe, expect, it } from "vitest";
import { OneTimeTokens } from "./one-time-tokens.ts";

describe("OneTimeTokens", () => {
  it("remembers a spent jti until its expiry", () => {
    const tokens = new OneTimeTokens();
    expect(tokens.isSpent("a", 0)).toBe(false);
    tokens.spend("a", 1000, 0);
    expect(tokens.isSpent("a", 999)).toBe(true);
    expect(tokens.isSpent("a", 1000)).toBe(false);
    expect(tokens.isSpent("b", 0)).toBe(false);
  });

  it("prunes expired entries as it grows", () => {
    const tokens = new OneTimeTokens();
    for (let i = 0; i < 1023; i++) tokens.spend(`old-${i}`, 10, 0);
    tokens.spend("new", 10_000, 100);
    expect(tokens.size).toBe(1);
  });
});
