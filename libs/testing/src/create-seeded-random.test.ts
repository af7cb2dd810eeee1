import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSeededRandom, fromState } from "./create-seeded-random.ts";

const take = (n: number, f: () => number): number[] => Array.from({ length: n }, f);

describe("createSeededRandom", () => {
  it("implements xoshiro128** (reference outputs for the state 1, 2, 3, 4)", () => {
    const random = fromState(0, [1, 2, 3, 4]);
    expect(take(6, random.uint32)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it("replays the same sequence from the same seed and differs across nearby seeds", () => {
    expect(take(20, createSeededRandom(42).uint32)).toEqual(take(20, createSeededRandom(42).uint32));
    expect(take(20, createSeededRandom(42).uint32)).not.toEqual(take(20, createSeededRandom(43).uint32));
    expect(take(5, createSeededRandom(2 ** 40).uint32)).not.toEqual(take(5, createSeededRandom(0).uint32));
  });

  it("rejects seeds that are not safe integers", () => {
    expect(() => createSeededRandom(1.5)).toThrow(/safe integer/);
  });

  it("int() stays within inclusive bounds and reaches both ends", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 6 }), (seed, min, span) => {
        const random = createSeededRandom(seed);
        const values = take(200, () => random.int(min, min + span));
        expect(values.every((v) => Number.isInteger(v) && v >= min && v <= min + span)).toBe(true);
        expect(new Set(values)).toEqual(new Set(Array.from({ length: span + 1 }, (_, i) => min + i)));
      }),
      { numRuns: 50 },
    );
  });

  it("int() is roughly uniform (chi-squared over 10 buckets, fixed seed)", () => {
    const random = createSeededRandom(7);
    const counts = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const bucket = random.int(0, 9);
      counts[bucket] = (counts[bucket] ?? 0) + 1;
    }
    const expected = n / 10;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.88); // p = 0.001 for 9 degrees of freedom
  });

  it("next() is in [0, 1), and bool() follows its probability", () => {
    const random = createSeededRandom(3);
    const floats = take(10_000, random.next);
    expect(floats.every((f) => f >= 0 && f < 1)).toBe(true);
    const trues = take(10_000, () => (random.bool(0.2) ? 1 : 0)).reduce((a, b) => a + b, 0);
    expect(trues).toBeGreaterThan(1800);
    expect(trues).toBeLessThan(2200);
    expect(random.bool(0)).toBe(false);
    expect(random.bool(1)).toBe(true);
  });

  it("shuffle() returns a permutation and leaves its input alone; pick() picks a member", () => {
    const random = createSeededRandom(9);
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const shuffled = random.shuffle(items);
    expect([...shuffled].sort()).toEqual(items);
    expect(shuffled).not.toEqual(items);
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(items).toContain(random.pick(items));
    expect(() => random.pick([])).toThrow(/empty/);
  });

  it("fork() gives a stream independent of the parent's continuation, reproducibly", () => {
    const a = createSeededRandom(5);
    const b = createSeededRandom(5);
    const forkA = a.fork();
    const forkB = b.fork();
    expect(take(10, forkA.uint32)).toEqual(take(10, forkB.uint32));
    expect(take(10, a.uint32)).toEqual(take(10, b.uint32));
    const parent = createSeededRandom(5);
    const child = parent.fork();
    expect(take(10, child.uint32)).not.toEqual(take(10, parent.uint32));
  });
});
