import { describe, expect, it } from "vitest";
import type { LogIndex, NodeId } from "./ids.ts";
import { ReadOnlyQueue } from "./read-only.ts";

const n = (id: string): NodeId => id as NodeId;

describe("ReadOnlyQueue (thesis §6.4)", () => {
  it("counts acknowledgements per context, the leader's own included", () => {
    const q = new ReadOnlyQueue();
    expect(q.add("a", 5 as LogIndex, n("1"), n("1"))).toBe(true);
    expect([...(q.recvAck(n("2"), "a") ?? [])]).toEqual(["1", "2"]);
    expect(q.recvAck(n("2"), "zzz")).toBeUndefined();
  });

  it("advance() releases a read and every read queued before it", () => {
    const q = new ReadOnlyQueue();
    q.add("a", 5 as LogIndex, n("1"), n("1"));
    q.add("b", 6 as LogIndex, n("2"), n("1"));
    q.add("c", 7 as LogIndex, n("1"), n("1"));
    expect(q.lastPendingContext()).toBe("c");
    expect(q.advance("b").map((r) => [r.context, r.index, r.from])).toEqual([
      ["a", 5, "1"],
      ["b", 6, "2"],
    ]);
    expect([q.size(), q.lastPendingContext()]).toEqual([1, "c"]);
    expect(q.advance("b")).toEqual([]);
  });

  it("ignores a context that is already pending", () => {
    const q = new ReadOnlyQueue();
    q.add("a", 5 as LogIndex, n("1"), n("1"));
    expect(q.add("a", 9 as LogIndex, n("2"), n("1"))).toBe(false);
    expect(q.advance("a").map((r) => r.index)).toEqual([5]);
  });
});
