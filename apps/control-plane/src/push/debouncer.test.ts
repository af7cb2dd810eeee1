import { FakeClock } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { Debouncer } from "./debouncer.ts";

function setup() {
  const clock = new FakeClock(1_000);
  const fired: number[] = [];
  const debouncer = new Debouncer(() => fired.push(clock.now()), { quietMs: 100, maxMs: 10_000 }, clock);
  return { clock, fired, debouncer };
}

describe("Debouncer", () => {
  it("fires once, 100 ms after the last of a burst of triggers", () => {
    const { clock, fired, debouncer } = setup();
    debouncer.trigger();
    clock.advance(50);
    debouncer.trigger();
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([1_150]);
    clock.advance(1_000);
    expect(fired).toEqual([1_150]);
  });

  it("fires 10 s after the first trigger when triggers never stop", () => {
    const { clock, fired, debouncer } = setup();
    for (let t = 0; t < 12_000; t += 50) {
      debouncer.trigger();
      clock.advance(50);
    }
    expect(fired).toEqual([11_000]);
    clock.advance(100);
    expect(fired).toHaveLength(2);
  });

  it("counts the triggers of the pending burst and forgets them on cancel", () => {
    const { clock, fired, debouncer } = setup();
    debouncer.trigger();
    debouncer.trigger();
    expect(debouncer.pending).toBe(2);
    debouncer.cancel();
    clock.advance(1_000);
    expect(fired).toEqual([]);
    expect(debouncer.pending).toBe(0);
  });
});
