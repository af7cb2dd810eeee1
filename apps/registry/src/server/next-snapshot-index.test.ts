import { describe, expect, it } from "vitest";
import { nextSnapshotIndex, snapshotRank } from "./next-snapshot-index.ts";

describe("nextSnapshotIndex", () => {
  it("keeps one voter (and a lone server) on multiples of the interval", () => {
    expect(nextSnapshotIndex(0, 10_000, 0, 3)).toBe(10_000);
    expect(nextSnapshotIndex(10_000, 10_000, 0, 3)).toBe(20_000);
    expect(nextSnapshotIndex(10_007, 10_000, 0, 3)).toBe(20_000);
    expect(nextSnapshotIndex(0, 10_000, 0, 1)).toBe(10_000);
    expect(nextSnapshotIndex(0, 10_000, -1, 3)).toBe(10_000);
  });

  it("gives each voter of three its own third of the interval", () => {
    const firsts = [0, 1, 2].map((rank) => nextSnapshotIndex(0, 10_000, rank, 3));
    expect(firsts).toEqual([10_000, 13_333, 6_666]);
    // Steady state: every interval, at the same phase, even when the last one was taken a few entries late.
    expect(nextSnapshotIndex(13_340, 10_000, 1, 3)).toBe(23_333);
    expect(nextSnapshotIndex(6_670, 10_000, 2, 3)).toBe(16_666);
  });

  it("is never within half an interval of the last snapshot nor more than one and a half past it", () => {
    for (const every of [1, 2, 3, 20, 10_000]) {
      for (const voters of [1, 3, 5]) {
        for (let rank = -1; rank < voters; rank++) {
          for (const last of [0, 1, 7, 19, 12_345]) {
            const next = nextSnapshotIndex(last, every, rank, voters);
            expect(next).toBeGreaterThan(last + Math.floor(every / 2));
            expect(next).toBeLessThanOrEqual(last + Math.floor(every / 2) + every);
          }
        }
      }
    }
  });

  it("spreads five voters over the interval without two at one index", () => {
    const indexes = [0, 1, 2, 3, 4].map((rank) => nextSnapshotIndex(50_000, 10_000, rank, 5) % 10_000);
    expect(new Set(indexes).size).toBe(5);
  });
});

describe("snapshotRank", () => {
  it("is the place by id, whatever the configuration's order", () => {
    expect(snapshotRank("n2", ["n3", "n1", "n2"])).toBe(1);
    expect(snapshotRank("n9", ["n3", "n1", "n2"])).toBe(-1);
  });
});
