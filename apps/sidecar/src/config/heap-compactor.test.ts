import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { heapCompactor } from "./heap-compactor.ts";

describe("heapCompactor", () => {
  let clock = 0;
  let flags: string[];
  let collected: string[][];
  const gc = (): void => void collected.push([...flags]);
  const setFlags = (flag: string): void => {
    if (flag.startsWith("--no-")) flags = flags.filter((f) => f !== `--${flag.slice("--no-".length)}`);
    else flags.push(flag);
  };

  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
    flags = [];
    collected = [];
  });
  afterEach(() => vi.useRealTimers());

  const advance = (ms: number): void => {
    clock += ms;
    vi.advanceTimersByTime(ms);
  };

  it("collects once, delayMs after the last of several config changes, with compaction on for that collection only", () => {
    const compactor = heapCompactor({ delayMs: 1000, minIntervalMs: 30_000, gc, setFlags, now: () => clock });
    compactor.schedule();
    advance(600);
    compactor.schedule();
    advance(600);
    expect(collected).toEqual([]);
    advance(400);
    expect(collected).toEqual([["--compact-on-every-full-gc"]]);
    expect(flags).toEqual([]);
    expect(compactor.collections).toBe(1);
  });

  it("waits minIntervalMs after a collection before the next one", () => {
    const compactor = heapCompactor({ delayMs: 1000, minIntervalMs: 30_000, gc, setFlags, now: () => clock });
    compactor.schedule();
    advance(1000);
    compactor.schedule();
    advance(5000);
    expect(compactor.collections).toBe(1);
    advance(25_000);
    expect(compactor.collections).toBe(2);
  });

  it("does nothing without an exposed collector (no --expose-gc)", () => {
    const compactor = heapCompactor({ delayMs: 1000, minIntervalMs: 30_000, gc: undefined, setFlags, now: () => clock });
    compactor.schedule();
    advance(60_000);
    expect(compactor.collections).toBe(0);
    expect(flags).toEqual([]);
  });

  it("turns compaction off again when the collection throws, and close() cancels a pending one", () => {
    const failing = heapCompactor({ delayMs: 10, minIntervalMs: 0, gc: () => { throw new Error("boom"); }, setFlags, now: () => clock });
    failing.schedule();
    expect(() => advance(10)).toThrow("boom");
    expect(flags).toEqual([]);
    const closed = heapCompactor({ delayMs: 10, minIntervalMs: 0, gc, setFlags, now: () => clock });
    closed.schedule();
    closed.close();
    advance(100);
    expect(closed.collections).toBe(0);
  });
});
