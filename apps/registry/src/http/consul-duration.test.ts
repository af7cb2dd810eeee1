import { describe, expect, it } from "vitest";
import { formatDurationMs, parseDurationMs } from "./consul-duration.ts";

describe("parseDurationMs", () => {
  it("reads Go durations, compound ones and bare seconds", () => {
    expect(parseDurationMs("10s", "wait")).toBe(10_000);
    expect(parseDurationMs("1m30s", "wait")).toBe(90_000);
    expect(parseDurationMs("150ms", "wait")).toBe(150);
    expect(parseDurationMs("1h", "wait")).toBe(3_600_000);
    expect(parseDurationMs("15", "wait")).toBe(15_000);
  });
  it("rejects garbage with the parameter name", () => {
    expect(() => parseDurationMs("10 parsecs", "wait")).toThrow(/Invalid wait "10 parsecs"/);
    expect(() => parseDurationMs("", "TTL")).toThrow(/Invalid TTL/);
    expect(() => parseDurationMs("5x", "wait")).toThrow(/Go duration/);
  });
});

describe("formatDurationMs", () => {
  it("prints as Go's Duration.String does", () => {
    expect(formatDurationMs(30_000)).toBe("30s");
    expect(formatDurationMs(60_000)).toBe("1m0s");
    expect(formatDurationMs(3_600_000)).toBe("1h0m0s");
    expect(formatDurationMs(0)).toBe("0s");
    expect(formatDurationMs(250)).toBe("250ms");
  });
});
