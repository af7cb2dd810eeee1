import { describe, expect, it } from "vitest";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { encodeConfChange } from "./conf-change.ts";
import type { Message } from "./message.ts";
import type { Ready } from "./raw-node.ts";
import { RawNode, createRawNode } from "./raw-node.ts";

const n = (id: string): NodeId => id as NodeId;
const voters = { voters: [n("1"), n("2"), n("3")], learners: [] };

function persist(storage: MemoryStorage, ready: Ready): void {
  if (ready.snapshot) storage.applySnapshot(ready.snapshot);
  storage.append(ready.entries);
  if (ready.hardState) storage.setHardState(ready.hardState);
}

function newNode(storage = new MemoryStorage({ confState: voters }), id = "1"): RawNode {
  return createRawNode({ id: n(id), electionTick: 10, heartbeatTick: 1, storage, random: () => 0, preVote: false });
}

describe("RawNode", () => {
  it("hands out a Ready once: ready() again before advance() throws, and hasReady() is false meanwhile", () => {
    const node = newNode();
    node.campaign();
    expect(node.hasReady()).toBe(true);
    const ready = node.ready();
    expect(node.hasReady()).toBe(false);
    expect(() => node.ready()).toThrow(/advance/);
    expect(() => node.advance({ ...ready })).toThrow(/not the outstanding one/);
    node.advance(ready);
    expect(node.hasReady()).toBe(false);
  });

  it("reports soft and hard state only when they change", () => {
    const storage = new MemoryStorage({ confState: voters });
    const node = newNode(storage);
    node.campaign();
    const first = node.ready();
    expect(first.softState).toEqual({ lead: null, state: "candidate" });
    expect(first.hardState).toEqual({ term: 1, vote: "1", commit: 0 });
    expect(node.term).toBe(1);
    expect(node.term).toBe(node.status().term);
    expect(first.mustSync).toBe(true);
    persist(storage, first);
    node.advance(first);
    node.step({ type: "vote-resp", from: n("2"), to: n("1"), term: 1 as Term, reject: false });
    const second = node.ready();
    expect(second.softState).toEqual({ lead: "1", state: "leader" });
    expect(second.hardState).toBeUndefined();
    expect(second.entries).toHaveLength(1);
  });

  it("puts an acknowledgement in the same Ready as the entries it acknowledges, to be sent after they are persisted", () => {
    const node = newNode(new MemoryStorage({ confState: voters }), "2");
    node.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 0 as LogIndex, logTerm: 0 as Term, entries: [{ term: 1 as Term, index: 1 as LogIndex, type: "normal", data: new Uint8Array() }], commit: 0 as LogIndex });
    const ready = node.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([1]);
    expect(ready.messages).toMatchObject([{ type: "app-resp", index: 1 }]);
    expect(ready.mustSync).toBe(true);
  });

  it("lets a leader's Ready be sent before it is persisted, never a follower's or a candidate's", () => {
    const storage = new MemoryStorage({ confState: voters });
    const node = newNode(storage);
    node.campaign();
    const candidate = node.ready();
    expect(candidate.messages.map((m) => m.type)).toEqual(["vote", "vote"]);
    expect(candidate.sendBeforePersist).toBe(false);
    persist(storage, candidate);
    node.advance(candidate);
    node.step({ type: "vote-resp", from: n("2"), to: n("1"), term: 1 as Term, reject: false });
    const elected = node.ready();
    expect(elected.softState?.state).toBe("leader");
    expect(elected.messages.map((m) => m.type)).toEqual(["app", "app"]);
    expect(elected.sendBeforePersist).toBe(true);
    persist(storage, elected);
    node.advance(elected);
    node.propose(new Uint8Array([1]));
    const proposal = node.ready();
    expect(proposal.entries.map((e) => e.index)).toEqual([2]);
    expect(proposal.sendBeforePersist).toBe(true);
    expect(proposal.mustSync).toBe(true);

    const follower = newNode(new MemoryStorage({ confState: voters }), "2");
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 0 as LogIndex, logTerm: 0 as Term, entries: [{ term: 1 as Term, index: 1 as LogIndex, type: "normal", data: new Uint8Array() }], commit: 0 as LogIndex });
    expect(follower.ready().sendBeforePersist).toBe(false);
  });

  it("streams a leader's new appends while its Ready is persisted (takeEarlyMessages), and a follower's forwarded proposals only", () => {
    const storage = new MemoryStorage({ confState: voters });
    const node = newNode(storage);
    node.campaign();
    const candidate = node.ready();
    expect(node.takeEarlyMessages()).toEqual([]); // a candidate's Ready changed term and vote: nothing leaves early
    node.step({ type: "vote-resp", from: n("2"), to: n("1"), term: 1 as Term, reject: false });
    expect(node.takeEarlyMessages()).toEqual([]); // leader now, but its term is not on disk yet
    persist(storage, candidate);
    node.advance(candidate);
    const elected = node.ready();
    persist(storage, elected);
    node.advance(elected);
    // The followers hold the leader's first entry: replication is pipelined from now on.
    for (const from of ["2", "3"]) node.step({ type: "app-resp", from: n(from), to: n("1"), term: 1 as Term, index: 1 as LogIndex, reject: false, rejectHint: 0 as LogIndex, logTerm: 0 as Term });
    node.advance(node.ready());
    node.propose(new Uint8Array([1]));
    const first = node.ready(); // entry 2, being persisted
    expect(node.status().commit).toBe(1);
    node.propose(new Uint8Array([2]));
    const early = node.takeEarlyMessages();
    expect(early.map((m) => m.type)).toEqual(["app", "app"]);
    expect(early.every((m) => m.type === "app" && m.entries.map((e) => e.index).join() === "3")).toBe(true);
    // Followers acknowledge 1..3: committed without the leader's own disk (2 of 3 is a quorum).
    for (const from of ["2", "3"]) node.step({ type: "app-resp", from: n(from), to: n("1"), term: 1 as Term, index: 3 as LogIndex, reject: false, rejectHint: 0 as LogIndex, logTerm: 0 as Term });
    expect(node.status().commit).toBe(3);
    expect(node.takeEarlyMessages().every((m) => m.type === "app" && m.commit === 3)).toBe(true);
    persist(storage, first);
    node.advance(first);
    const next = node.ready();
    expect(next.entries.map((e) => e.index)).toEqual([3]);
    expect(next.committedEntries.map((e) => e.index)).toEqual([2, 3]);

    const followerStorage = new MemoryStorage({ confState: voters });
    const follower = newNode(followerStorage, "2");
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 0 as LogIndex, logTerm: 0 as Term, entries: [{ term: 1 as Term, index: 1 as LogIndex, type: "normal", data: new Uint8Array() }], commit: 1 as LogIndex });
    const persisting = follower.ready();
    expect(persisting.messages.map((m) => m.type)).toEqual(["app-resp"]);
    expect(follower.takeCommittedEntries(Infinity)).toEqual([]); // entry 1 came committed in the Ready itself
    follower.propose(new Uint8Array([7]));
    follower.step({ type: "heartbeat", from: n("1"), to: n("2"), term: 1 as Term, commit: 1 as LogIndex, context: null });
    expect(follower.takeEarlyMessages().map((m) => m.type)).toEqual(["prop"]);
    persist(followerStorage, persisting);
    follower.advance(persisting);
    expect(follower.ready().messages.map((m) => m.type)).toEqual(["heartbeat-resp"]);
  });

  it("hands out committed entries while a follower's Ready holding them is persisted (takeCommittedEntries), once", () => {
    const storage = new MemoryStorage({ confState: voters });
    const follower = newNode(storage, "2");
    const entry = (index: number, byte: number) => ({ term: 1 as Term, index: index as LogIndex, type: "normal" as const, data: new Uint8Array([byte]) });
    expect(follower.takeCommittedEntries(Infinity)).toEqual([]); // no Ready outstanding
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 0 as LogIndex, logTerm: 0 as Term, entries: [entry(1, 1), entry(2, 2), entry(3, 3), entry(4, 4)], commit: 0 as LogIndex });
    const persisting = follower.ready(); // entries 1..4, not yet on this node's disk
    expect(persisting.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(follower.takeCommittedEntries(Infinity)).toEqual([]); // nothing committed yet
    // The leader's quorum (without this node) committed 1..2.
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 4 as LogIndex, logTerm: 1 as Term, entries: [], commit: 2 as LogIndex });
    expect(follower.takeCommittedEntries(1).map((e) => [e.index, e.data[0]])).toEqual([[1, 1]]); // maxBytes: at least one
    expect(follower.takeCommittedEntries(Infinity).map((e) => e.index)).toEqual([2]);
    expect(follower.takeCommittedEntries(Infinity)).toEqual([]); // handed out once
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 4 as LogIndex, logTerm: 1 as Term, entries: [], commit: 3 as LogIndex });
    persist(storage, persisting);
    follower.advance(persisting);
    // Not repeated: the next Ready starts after what was taken; advance counted 1..2 applied.
    expect(follower.status().applied).toBe(2);
    const next = follower.ready();
    expect(next.committedEntries.map((e) => e.index)).toEqual([3]);
    follower.advance(next);
    expect(follower.status().applied).toBe(3);
  });

  it("stops takeCommittedEntries before a conf change, which comes in a Ready", () => {
    const storage = new MemoryStorage({ confState: voters });
    const follower = newNode(storage, "2");
    const cc = { term: 1 as Term, index: 2 as LogIndex, type: "conf-change" as const, data: encodeConfChange({ type: "add-learner", nodeId: n("4") }) };
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 0 as LogIndex, logTerm: 0 as Term, entries: [{ term: 1 as Term, index: 1 as LogIndex, type: "normal", data: new Uint8Array([1]) }, cc, { term: 1 as Term, index: 3 as LogIndex, type: "normal", data: new Uint8Array([3]) }], commit: 3 as LogIndex });
    const persisting = follower.ready();
    expect(persisting.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]); // committed on arrival: all in the Ready
    expect(follower.takeCommittedEntries(Infinity)).toEqual([]);
    persist(storage, persisting);
    follower.advance(persisting);
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 3 as LogIndex, logTerm: 1 as Term, entries: [{ term: 1 as Term, index: 4 as LogIndex, type: "normal", data: new Uint8Array([4]) }, { ...cc, index: 5 as LogIndex }, { term: 1 as Term, index: 6 as LogIndex, type: "normal", data: new Uint8Array([6]) }], commit: 3 as LogIndex });
    const second = follower.ready();
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 6 as LogIndex, logTerm: 1 as Term, entries: [], commit: 6 as LogIndex });
    expect(follower.takeCommittedEntries(Infinity).map((e) => e.index)).toEqual([4]);
    expect(follower.takeCommittedEntries(Infinity)).toEqual([]);
    persist(storage, second);
    follower.advance(second);
    expect(follower.ready().committedEntries.map((e) => e.index)).toEqual([5, 6]);
  });

  it("hands out nothing from takeCommittedEntries while a snapshot is to be persisted", () => {
    const storage = new MemoryStorage({ confState: voters });
    const follower = newNode(storage, "2");
    follower.step({ type: "snap", from: n("1"), to: n("2"), term: 1 as Term, snapshot: { metadata: { index: 5 as LogIndex, term: 1 as Term, confState: voters }, data: new Uint8Array() } });
    const persisting = follower.ready();
    expect(persisting.snapshot?.metadata.index).toBe(5);
    // Entries after the snapshot, committed, while it is not yet persisted (nor applied by the driver).
    follower.step({ type: "app", from: n("1"), to: n("2"), term: 1 as Term, index: 5 as LogIndex, logTerm: 1 as Term, entries: [{ term: 1 as Term, index: 6 as LogIndex, type: "normal", data: new Uint8Array([6]) }], commit: 6 as LogIndex });
    expect(follower.takeCommittedEntries(Infinity)).toEqual([]);
    persist(storage, persisting);
    follower.advance(persisting);
    expect(follower.ready().committedEntries.map((e) => e.index)).toEqual([6]);
  });

  it("does not ask for a sync when only the commit index moved", () => {
    const storage = new MemoryStorage({ confState: voters });
    storage.append([{ term: 1 as Term, index: 1 as LogIndex, type: "normal", data: new Uint8Array() }]);
    storage.setHardState({ term: 1 as Term, vote: null, commit: 0 as LogIndex });
    const node = newNode(storage, "2");
    node.step({ type: "heartbeat", from: n("1"), to: n("2"), term: 1 as Term, commit: 1 as LogIndex, context: null });
    const ready = node.ready();
    expect(ready.hardState?.commit).toBe(1);
    expect(ready.mustSync).toBe(false);
    expect(ready.committedEntries.map((e) => e.index)).toEqual([1]);
  });

  it("refuses to advance entries the driver did not persist", () => {
    const node = newNode(new MemoryStorage({ confState: { voters: [n("1")], learners: [] } }));
    node.campaign();
    const ready = node.ready();
    expect(() => node.advance(ready)).toThrow(/persist ready.entries before advance/);
  });

  it("restarts from its storage with term, vote, commit and log, re-applying committed entries after the snapshot", () => {
    const storage = new MemoryStorage({ confState: { voters: [n("1")], learners: [] } });
    let node = newNode(storage);
    node.campaign();
    const applied: number[] = [];
    const drain = (): void => {
      while (node.hasReady()) {
        const ready = node.ready();
        persist(storage, ready);
        applied.push(...ready.committedEntries.map((e) => e.index));
        node.advance(ready);
      }
    };
    drain();
    node.propose(new Uint8Array([1]));
    node.propose(new Uint8Array([2]));
    drain();
    expect(applied).toEqual([1, 2, 3]);
    node = newNode(storage);
    expect(node.status()).toMatchObject({ term: 1, vote: "1", commit: 3, applied: 0, lastIndex: 3, state: "follower" });
    applied.length = 0;
    drain();
    expect(applied).toEqual([1, 2, 3]);
    // With `applied` given, nothing is handed out twice.
    node = createRawNode({ id: n("1"), electionTick: 10, heartbeatTick: 1, storage, random: () => 0, applied: 3 as LogIndex });
    expect(node.hasReady()).toBe(false);
  });

  it("step() refuses a message addressed to another node", () => {
    const node = newNode();
    const m: Message = { type: "heartbeat", from: n("2"), to: n("3"), term: 1 as Term, commit: 0 as LogIndex, context: null };
    expect(() => node.step(m)).toThrow(/stepped into node 1/);
  });

  it("proposeBatch() appends all entries or none", () => {
    const storage = new MemoryStorage({ confState: { voters: [n("1")], learners: [] } });
    const node = createRawNode({ id: n("1"), electionTick: 10, heartbeatTick: 1, storage, random: () => 0, maxUncommittedEntriesSize: 4 });
    node.campaign();
    const ready = node.ready();
    persist(storage, ready);
    node.advance(ready);
    expect(node.proposeBatch([new Uint8Array(3), new Uint8Array(3)])).toMatchObject({ ok: true, index: 3 });
    expect(node.proposeBatch([new Uint8Array(1)])).toEqual({ ok: false, reason: "uncommitted-too-large" });
    expect(node.status().lastIndex).toBe(3);
  });

  it("is a RawNode built by createRawNode()", () => {
    expect(newNode()).toBeInstanceOf(RawNode);
  });
});
