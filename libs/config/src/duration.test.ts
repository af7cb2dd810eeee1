import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatDurationMs, parseDurationMs } from "./duration.ts";

describe("parseDurationMs", () => {
  it.each([
    ["10s", 10_000],
    ["1.5s", 1_500],
    ["250ms", 250],
    ["1h", 3_600_000],
    ["5m", 300_000],
    ["1m30s", 90_000],
    ["2h45m", 9_900_000],
    ["100us", 0.1],
    ["100µs", 0.1],
    ["500ns", 0.0005],
    [".5s", 500],
    ["0", 0],
    ["0s", 0],
  ])("reads %s as %d ms", (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(["", "10", "s", "1.5", "-1s", "1d", "10 s", "1s ", "abc", "1ss", "1e3s"])("rejects %j", (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});

describe("formatDurationMs", () => {
  it.each([
    [10_000, "10s"],
    [90_000, "90s"],
    [1_500, "1500ms"],
    [3_600_000, "1h"],
    [0, "0s"],
    [0.25, "250us"],
  ])("renders %d ms as %s", (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });

  it("round-trips every whole number of microseconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000_000 }), (us) => {
        const ms = us / 1000;
        expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
      }),
    );
  });
});
