import { describe, expect, it } from "vitest";
import { BroadcastQueue, retransmitLimit } from "./broadcast-queue.ts";

const b = (...bytes: number[]) => Uint8Array.from(bytes);
const noOverhead = () => 0;

describe("BroadcastQueue", () => {
  it("retransmitLimit is λ·ceil(log10(n+1))", () => {
    expect(retransmitLimit(4, 1)).toBe(4);
    expect(retransmitLimit(4, 100)).toBe(12);
    expect(retransmitLimit(4, 1_000)).toBe(16);
  });

  it("sends each update at most `limit` times, then forgets it", () => {
    const q = new BroadcastQueue();
    q.push("a", b(1));
    expect(q.take(100, 2, noOverhead)).toEqual([b(1)]);
    expect(q.take(100, 2, noOverhead)).toEqual([b(1)]);
    expect(q.take(100, 2, noOverhead)).toEqual([]);
    expect(q.length).toBe(0);
  });

  it("a newer update about the same key replaces the older one", () => {
    const q = new BroadcastQueue();
    q.push("a", b(1));
    q.push("a", b(2));
    expect(q.take(100, 3, noOverhead)).toEqual([b(2)]);
  });

  it("prefers fewest-sent then newest, within the byte budget", () => {
    const q = new BroadcastQueue();
    q.push("a", b(1, 1));
    q.take(100, 5, noOverhead);
    q.push("b", b(2, 2));
    q.push("c", b(3, 3));
    expect(q.take(4, 5, noOverhead)).toEqual([b(3, 3), b(2, 2)]);
    expect(q.take(2, 5, noOverhead)).toEqual([b(3, 3)]); // all sent once now: newest first
  });
});
