import { describe, expect, it } from "vitest";
import { defaultLoadShedderSettings, LoadShedder, overloadedReply, type LoadMeasurements } from "./load-shedder.ts";

const idle: LoadMeasurements = { eventLoopDelayMs: 1, inFlightRequests: 10, heapUsedBytes: 20e6, heapLimitBytes: 2e9 };
const at = (change: Partial<LoadMeasurements>): LoadMeasurements => ({ ...idle, ...change });

describe("LoadShedder", () => {
  it("does not shed an idle proxy", () => {
    const shedder = new LoadShedder();
    expect(shedder.shouldShed(idle)).toBe(false);
    expect(shedder.signals).toEqual([]);
  });

  it("sheds once the event-loop delay is at the threshold twice in a row, and keeps shedding until below the recovery line", () => {
    const shedder = new LoadShedder();
    const delays = [50, 999, 1000, 800, 1200, 1000, 800, 400, 250, 249, 600, 1040, 1100];
    expect(delays.map((d) => shedder.shouldShed(at({ eventLoopDelayMs: d })))).toEqual([false, false, false, false, false, true, true, true, true, false, false, false, true]);
    expect(shedder.signals).toEqual(["event-loop-delay"]);
  });

  it("enters at the first measurement over the line when a threshold asks for no streak", () => {
    const shedder = new LoadShedder({ eventLoopDelayMs: { shedAt: 100, recoverBelow: 50 } });
    expect([20, 100, 60, 49].map((d) => shedder.shouldShed(at({ eventLoopDelayMs: d })))).toEqual([false, true, true, false]);
  });

  it("sheds on heap pressure (used / limit) and ignores the heap when the limit is unknown", () => {
    const shedder = new LoadShedder();
    expect(shedder.shouldShed(at({ heapUsedBytes: 1.9e9 }))).toBe(true);
    expect(shedder.signals).toEqual(["heap"]);
    expect(shedder.shouldShed(at({ heapUsedBytes: 1.85e9 }))).toBe(true);
    expect(shedder.shouldShed(at({ heapUsedBytes: 1.79e9 }))).toBe(false);
    expect(shedder.shouldShed(at({ heapUsedBytes: 5e9, heapLimitBytes: 0 }))).toBe(false);
  });

  it("leaves in-flight requests unlimited by default, and limits them when configured", () => {
    expect(new LoadShedder().shouldShed(at({ inFlightRequests: 1e6 }))).toBe(false);
    const shedder = new LoadShedder({ inFlightRequests: { shedAt: 1000, recoverBelow: 800 } });
    expect([999, 1000, 900, 799].map((n) => shedder.shouldShed(at({ inFlightRequests: n })))).toEqual([false, true, true, false]);
  });

  it("recovers only when every signal that was over has recovered", () => {
    const shedder = new LoadShedder();
    expect(shedder.shouldShed(at({ eventLoopDelayMs: 1200, heapUsedBytes: 1.95e9 }))).toBe(true);
    expect(shedder.signals).toEqual(["heap"]);
    expect(shedder.shouldShed(at({ eventLoopDelayMs: 1300, heapUsedBytes: 1.95e9 }))).toBe(true);
    expect(shedder.signals).toEqual(["event-loop-delay", "heap"]);
    expect(shedder.shouldShed(at({ eventLoopDelayMs: 10, heapUsedBytes: 1.85e9 }))).toBe(true);
    expect(shedder.signals).toEqual(["heap"]);
    expect(shedder.shouldShed(at({ eventLoopDelayMs: 10 }))).toBe(false);
    expect(shedder.isShedding).toBe(false);
  });

  it("can turn a signal off", () => {
    const shedder = new LoadShedder({ eventLoopDelayMs: undefined });
    expect(shedder.shouldShed(at({ eventLoopDelayMs: 10_000 }))).toBe(false);
  });

  it("rejects a recovery line above the shedding line", () => {
    expect(() => new LoadShedder({ heapRatio: { shedAt: 0.8, recoverBelow: 0.9 } })).toThrow(/heapRatio.recoverBelow/);
  });

  it("documents its defaults and its local reply (503, flag OM)", () => {
    expect(defaultLoadShedderSettings).toEqual({
      eventLoopDelayMs: { shedAt: 1000, recoverBelow: 250, sustainedFor: 2 },
      inFlightRequests: undefined,
      heapRatio: { shedAt: 0.95, recoverBelow: 0.9 },
    });
    expect(overloadedReply).toMatchObject({ status: 503, flag: "OM" });
  });
});
