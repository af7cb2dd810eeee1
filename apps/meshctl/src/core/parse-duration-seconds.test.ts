import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDurationSeconds } from "./parse-duration-seconds.ts";

describe("parseDurationSeconds", () => {
  it.each([
    ["1h", 3600],
    ["90s", 90],
    ["30m", 1800],
    ["1d", 86400],
    ["1h30m", 5400],
    ["45", 45],
  ])("reads %s as %i seconds", (text, seconds) => {
    expect(parseDurationSeconds(text)).toEqual({ ok: true, seconds });
  });

  it.each(["", "0", "0s", "-1h", "1.5h", "1w", "h", "1 h", "1H"])("refuses %j, saying what is accepted", (text) => {
    expect(parseDurationSeconds(text)).toEqual({ ok: false, detail: expect.stringContaining("expected a positive duration") });
  });

  it("sums the parts like a simple reference model", () => {
    const part = fc.record({ amount: fc.integer({ min: 0, max: 1000 }), unit: fc.constantFrom("s", "m", "h", "d") });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const expected = parts.reduce((sum, p) => sum + p.amount * { s: 1, m: 60, h: 3600, d: 86400 }[p.unit], 0);
        const result = parseDurationSeconds(parts.map((p) => `${p.amount}${p.unit}`).join(""));
        expect(result).toEqual(expected > 0 ? { ok: true, seconds: expected } : expect.objectContaining({ ok: false }));
      }),
      { seed: 6, numRuns: 200 },
    );
  });
});
