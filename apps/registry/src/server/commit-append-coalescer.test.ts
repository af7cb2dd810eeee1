// The coalescer between the Raft driver and the transport, with a hand-run timer.
import { logIndex, nodeId, term } from "@meshwork/raft";
import type { AppendMessage, HeartbeatMessage, Message } from "@meshwork/raft";
import { describe, expect, it } from "vitest";
import { CommitAppendCoalescer } from "./commit-append-coalescer.ts";

const leader = nodeId("n1");
const f2 = nodeId("n2");
const f3 = nodeId("n3");
const entry = (index: number) => ({ term: term(2), index: logIndex(index), type: "normal" as const, data: new Uint8Array([index]) });

function append(to: typeof f2, options: { readonly commit: number; readonly entries?: readonly number[]; readonly term?: number }): AppendMessage {
  const entries = (options.entries ?? []).map(entry);
  const first = entries[0];
  const prev = first !== undefined ? first.index - 1 : options.commit;
  return { type: "app", from: leader, to, term: term(options.term ?? 2), index: logIndex(prev), logTerm: term(2), entries, commit: logIndex(options.commit) };
}

function heartbeat(to: typeof f2, commit: number): HeartbeatMessage {
  return { type: "heartbeat", from: leader, to, term: term(2), commit: logIndex(commit), context: null };
}

function setup(holdMs = 2) {
  const sent: Message[][] = [];
  const timers: { run: () => void; delayMs: number; cancelled: boolean }[] = [];
  const coalescer = new CommitAppendCoalescer({
    send: (messages) => sent.push([...messages]),
    holdMs,
    schedule: (run, delayMs) => {
      const timer = { run, delayMs, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  });
  const fire = () => {
    for (const timer of timers.splice(0)) if (!timer.cancelled) timer.run();
  };
  return { coalescer, sent, timers, fire };
}

describe("CommitAppendCoalescer", () => {
  it("sends appends with entries and other messages at once, in order", () => {
    const { coalescer, sent, timers } = setup();
    const messages = [append(f2, { commit: 4, entries: [5] }), heartbeat(f3, 4), append(f3, { commit: 4, entries: [5] })];
    coalescer.send(messages);
    expect(sent).toEqual([messages]);
    expect(timers).toEqual([]);
  });

  it("holds a commit-only append and lets the next append with entries carry the commit instead", () => {
    const { coalescer, sent, timers, fire } = setup();
    coalescer.send([append(f2, { commit: 5 }), append(f3, { commit: 5 })]);
    expect(sent).toEqual([]);
    expect(timers.map((t) => t.delayMs)).toEqual([2]);
    const next = [append(f2, { commit: 5, entries: [6] }), append(f3, { commit: 5, entries: [6] })];
    coalescer.send(next);
    expect(sent).toEqual([next]);
    // Nothing is held any more: the timer was cancelled and firing it sends nothing.
    expect(timers[0]?.cancelled).toBe(true);
    fire();
    expect(sent).toEqual([next]);
  });

  it("sends what it holds when no append follows within holdMs, the newest commit per follower", () => {
    const { coalescer, sent, timers, fire } = setup();
    coalescer.send([append(f2, { commit: 5 })]);
    coalescer.send([append(f2, { commit: 6 }), append(f3, { commit: 6 })]);
    expect(timers).toHaveLength(1);
    fire();
    expect(sent).toEqual([[append(f2, { commit: 6 }), append(f3, { commit: 6 })]]);
  });

  it("never lets another message overtake a held append", () => {
    const { coalescer, sent } = setup();
    coalescer.send([append(f2, { commit: 5 })]);
    coalescer.send([heartbeat(f2, 5)]);
    expect(sent).toEqual([[append(f2, { commit: 5 }), heartbeat(f2, 5)]]);
  });

  it("does not let an append of another term replace a held one", () => {
    const { coalescer, sent } = setup();
    coalescer.send([append(f2, { commit: 5 })]);
    coalescer.send([append(f2, { commit: 7, entries: [8], term: 3 })]);
    expect(sent).toEqual([[append(f2, { commit: 5 }), append(f2, { commit: 7, entries: [8], term: 3 })]]);
  });

  it("tells a follower at once that the entry it proposed is committed", () => {
    const { coalescer, sent } = setup();
    coalescer.proposed(f2, logIndex(6));
    // The commit of 5 does not cover f2's entry yet: held.
    coalescer.send([append(f2, { commit: 5 })]);
    expect(sent).toEqual([]);
    coalescer.send([append(f2, { commit: 6 }), append(f3, { commit: 6 })]);
    expect(sent).toEqual([[append(f2, { commit: 6 })]]);
    // Told once: the next commit-only append to f2 waits again.
    coalescer.send([append(f2, { commit: 7 })]);
    expect(sent).toHaveLength(1);
  });

  it("sends everything at once with holdMs 0", () => {
    const { coalescer, sent, timers } = setup(0);
    coalescer.send([append(f2, { commit: 5 })]);
    expect(sent).toEqual([[append(f2, { commit: 5 })]]);
    expect(timers).toEqual([]);
  });

  it("drops what it holds on clear and sends it on flush", () => {
    const { coalescer, sent, timers } = setup();
    coalescer.send([append(f2, { commit: 5 })]);
    coalescer.clear();
    expect(timers[0]?.cancelled).toBe(true);
    coalescer.flush();
    expect(sent).toEqual([]);
    coalescer.send([append(f3, { commit: 6 })]);
    coalescer.flush();
    expect(sent).toEqual([[append(f3, { commit: 6 })]]);
  });
});
