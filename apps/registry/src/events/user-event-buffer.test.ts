import { describe, expect, it } from "vitest";
import type { UserEvent } from "./user-event.ts";
import { UserEventBuffer } from "./user-event-buffer.ts";

const event = (n: number): UserEvent => ({ id: `id-${n}`, name: `e${n}`, payload: new Uint8Array(), nodeFilter: "", serviceFilter: "", tagFilter: "", version: 1, ltime: n });

describe("UserEventBuffer", () => {
  it("lists events oldest first and keeps only the last `size` (Consul: 256)", () => {
    const buffer = new UserEventBuffer(3);
    expect(buffer.list()).toEqual([]);
    buffer.add(event(1));
    buffer.add(event(2));
    expect(buffer.list().map((e) => e.ltime)).toEqual([1, 2]);
    buffer.add(event(3));
    buffer.add(event(4));
    buffer.add(event(5));
    expect(buffer.list().map((e) => e.ltime)).toEqual([3, 4, 5]);
    const full = new UserEventBuffer();
    for (let n = 1; n <= 300; n++) full.add(event(n));
    expect(full.list()).toHaveLength(256);
    expect(full.list()[0]?.ltime).toBe(45);
  });

  it("wakes a waiter when an event is added, and one whose request went away", async () => {
    const buffer = new UserEventBuffer();
    const woken = buffer.waitForEvent(60_000);
    buffer.add(event(1));
    await woken;
    const abort = new AbortController();
    const aborted = buffer.waitForEvent(60_000, abort.signal);
    abort.abort();
    await aborted;
    await buffer.waitForEvent(60_000, abort.signal);
  });
});
