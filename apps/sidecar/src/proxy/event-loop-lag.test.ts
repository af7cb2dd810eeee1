import { afterEach, describe, expect, it } from "vitest";
import { EventLoopLag } from "./event-loop-lag.ts";

let lag: EventLoopLag | undefined;
afterEach(() => lag?.stop());

describe("EventLoopLag", () => {
  it("reports how late ticks came, the worst since the last read", () => {
    let clock = 1000;
    lag = new EventLoopLag(100, () => clock);
    lag.start();
    clock += 100;
    lag.tick(); // on time
    clock += 350;
    lag.tick(); // 250 ms late
    clock += 130;
    lag.tick(); // 30 ms late
    expect(lag.takeWorstMs()).toBe(250);
    // A new window: only what came after the read.
    clock += 100;
    lag.tick();
    expect(lag.takeWorstMs()).toBe(0);
  });

  it("sees a real block of the event loop longer than its interval", async () => {
    lag = new EventLoopLag(20);
    lag.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    lag.takeWorstMs();
    const blockUntil = Date.now() + 300;
    while (Date.now() < blockUntil) {
      // busy: nothing else runs
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    // The tick due during the block ran at its end: at least block − interval late.
    expect(lag.takeWorstMs()).toBeGreaterThanOrEqual(280 - 20);
  });
});
