// When the intermediate is replaced: half-life, or earlier so a max-TTL leaf still fits.
import { describe, expect, it } from "vitest";
import { intermediateRotationAtMs } from "./intermediate-rotation.ts";

const day = 86_400_000;
const window = { notBefore: new Date(0), notAfter: new Date(7 * day) };

describe("intermediateRotationAtMs", () => {
  it("rotates at half-life when leaves are short", () => {
    expect(intermediateRotationAtMs(window, 3600)).toBe(3.5 * day);
  });

  it("rotates earlier so a maximum-TTL leaf is not cut short", () => {
    expect(intermediateRotationAtMs(window, 3 * 86_400)).toBe(day);
  });

  it("rotates at once when the leaf TTL exceeds the intermediate's life", () => {
    expect(intermediateRotationAtMs(window, 30 * 86_400)).toBe(0);
  });
});
