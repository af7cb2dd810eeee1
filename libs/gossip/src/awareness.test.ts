import { describe, expect, it } from "vitest";
import { Awareness } from "./awareness.ts";

describe("Awareness", () => {
  it("scales timeouts by score + 1 and clamps the score to [0, max - 1]", () => {
    const a = new Awareness(8);
    expect(a.scale(500)).toBe(500);
    a.apply(3);
    expect(a.scale(500)).toBe(2_000);
    a.apply(100);
    expect(a.score).toBe(7);
    a.apply(-100);
    expect(a.score).toBe(0);
  });
});
