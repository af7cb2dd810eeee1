import { describe, expect, it } from "vitest";
import { LamportClock } from "./lamport-clock.ts";

describe("LamportClock", () => {
  it("increment() advances by one and witness() moves past a seen time", () => {
    const clock = new LamportClock();
    expect(clock.increment()).toBe(1);
    clock.witness(10);
    expect(clock.time).toBe(11);
    clock.witness(3);
    expect(clock.time).toBe(11);
    expect(clock.increment()).toBe(12);
  });
});
