import { describe, expect, it } from "vitest";
import { eventIndex } from "./event-index.ts";

describe("eventIndex", () => {
  it("XORs the UUID's first 16 hex digits with its last 16 (Consul's uuidToUint64)", () => {
    // b54fe1107af5cafc XOR d1fbafc8ba432b1c, for the event id in Consul's docs.
    expect(eventIndex("b54fe110-7af5-cafc-d1fb-afc8ba432b1c")).toBe(7256511592453824992n);
    expect(eventIndex("00000000-0000-0000-0000-000000000001")).toBe(1n);
    expect(eventIndex("ffffffff-ffff-ffff-0000-000000000000")).toBe(0xffffffffffffffffn);
  });

  it("refuses what is not a UUID", () => {
    expect(() => eventIndex("not-a-uuid")).toThrow(/is not a UUID/);
  });
});
