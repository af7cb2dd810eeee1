import { describe, expect, it } from "vitest";
import { Suspicion, remainingSuspicionTime, suspicionTimeout } from "./suspicion.ts";

describe("remainingSuspicionTime", () => {
  // memberlist suspicion_test.go TestSuspicion_remainingSuspicionTime (min 2 s, max 30 s, k = 3).
  it.each([
    [0, 3, 0, 30_000],
    [1, 3, 2_000, 14_000],
    [2, 3, 3_000, 4_810],
    [3, 3, 4_000, -2_000],
    [4, 3, 5_000, -3_000],
    [5, 3, 10_000, -8_000],
  ])("n=%i k=%i elapsed=%ims leaves %ims", (n, k, elapsed, expected) => {
    expect(remainingSuspicionTime({ confirmations: n, expected: k, elapsedMs: elapsed, minMs: 2_000, maxMs: 30_000 })).toBe(expected);
  });
});

describe("suspicionTimeout", () => {
  it("scales with log10 of the cluster size, at least once", () => {
    expect(suspicionTimeout(4, 1, 1_000)).toBe(4_000);
    expect(suspicionTimeout(4, 100, 1_000)).toBe(8_000);
    expect(suspicionTimeout(4, 1_000, 1_000)).toBe(12_000);
  });
});

describe("Suspicion", () => {
  it("starts at max, shrinks with distinct confirmations, ignores repeats and the first suspecter", () => {
    const s = new Suspicion("a", { startedMs: 1_000, expected: 3, minMs: 2_000, maxMs: 30_000 });
    expect(s.deadlineMs).toBe(31_000);
    expect(s.confirm("a")).toBe(false);
    expect(s.confirm("b")).toBe(true);
    expect(s.confirm("b")).toBe(false);
    expect(s.deadlineMs).toBe(1_000 + 16_000);
    s.confirm("c");
    s.confirm("d");
    expect(s.deadlineMs).toBe(1_000 + 2_000);
    expect(s.confirm("e")).toBe(false);
  });

  it("uses min at once when no confirmations are expected", () => {
    expect(new Suspicion("a", { startedMs: 0, expected: 0, minMs: 2_000, maxMs: 30_000 }).deadlineMs).toBe(2_000);
  });
});
