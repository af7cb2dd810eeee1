import { describe, expect, it } from "vitest";
import { FakeClock } from "./fake-clock.ts";

describe("FakeClock", () => {
  it("moves only when advanced, and runs due timers in due order with now() at their due time", () => {
    const clock = new FakeClock(1000);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`late@${clock.now()}`), 100);
    expect(clock.now()).toBe(1000);
    expect(clock.advance(50)).toBe(2);
    expect(log).toEqual(["a@1010", "b@1020"]);
    expect(clock.now()).toBe(1050);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(1100);
  });

  it("runs timers due at the same time in order of creation and passes arguments", () => {
    const clock = new FakeClock();
    const log: string[] = [];
    for (const name of ["x", "y", "z"]) clock.setTimeout((n: string) => log.push(n), 5, name);
    clock.advance(5);
    expect(log).toEqual(["x", "y", "z"]);
  });

  it("runs zero-delay timers on advance(0) and timers scheduled inside the window", () => {
    const clock = new FakeClock();
    const log: number[] = [];
    clock.setTimeout(() => {
      log.push(clock.now());
      clock.setTimeout(() => log.push(clock.now()), 5);
      clock.setTimeout(() => log.push(clock.now()), 50);
    }, 0);
    clock.advance(0);
    expect(log).toEqual([0]);
    clock.advance(10);
    expect(log).toEqual([0, 5]);
  });

  it("clearTimeout cancels; unknown handles are ignored", () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimeout(() => { fired = true; }, 1);
    clock.clearTimeout(handle);
    clock.clearTimeout(12345);
    clock.advance(10);
    expect(fired).toBe(false);
  });

  it("repeats intervals until cleared, even from inside their callback", () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const handle = clock.setInterval(() => {
      times.push(clock.now());
      if (times.length === 3) clock.clearInterval(handle);
    }, 10);
    clock.advance(100);
    expect(times).toEqual([10, 20, 30]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("runNext jumps to the next timer; runAll stops runaway intervals", () => {
    const clock = new FakeClock();
    clock.setTimeout(() => undefined, 30);
    expect(clock.runNext()).toBe(true);
    expect(clock.now()).toBe(30);
    expect(clock.runNext()).toBe(false);
    clock.setInterval(() => undefined, 1);
    expect(() => clock.runAll(50)).toThrow(/more remain/);
  });

  it("works as a detached { setTimeout, clearTimeout } pair", () => {
    const clock = new FakeClock();
    const { setTimeout, clearTimeout } = clock;
    let count = 0;
    setTimeout(() => { count += 1; }, 5);
    clearTimeout(setTimeout(() => { count += 10; }, 5));
    clock.advanceTo(5);
    expect(count).toBe(1);
  });

  it("advanceAsync lets promise chains started by a timer settle before the next timer", async () => {
    const clock = new FakeClock();
    const log: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve().then(() => Promise.resolve()).then(() => log.push(`settled@${clock.now()}`));
    }, 10);
    clock.setTimeout(() => log.push(`second@${clock.now()}`), 20);
    await clock.advanceAsync(30);
    expect(log).toEqual(["settled@10", "second@20"]);
  });

  it("rejects negative durations", () => {
    expect(() => new FakeClock().advance(-1)).toThrow(/non-negative/);
  });
});
