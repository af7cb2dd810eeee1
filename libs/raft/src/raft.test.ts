// Behaviours of the Raft paper (§5, §7, §8) and of the thesis (§3.10, §4, §6, §9.6), each checked on
// single nodes driven message by message through RawNode.
import { describe, expect, it } from "vitest";
import { encodeConfChange } from "./conf-change.ts";
import type { Entry, HardState } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import { MemoryStorage } from "./memory-storage.ts";
import type { AppendMessage, AppendResponse, HeartbeatMessage, Message, VoteRequest, VoteResponse } from "./message.ts";
import type { RaftConfig } from "./raft-config.ts";
import { RawNode } from "./raw-node.ts";

const n = (id: string): NodeId => id as NodeId;
const i = (x: number): LogIndex => x as LogIndex;
const t = (x: number): Term => x as Term;
const entry = (index: number, term: number, data = ""): Entry => ({ index: i(index), term: t(term), type: "normal", data: new TextEncoder().encode(data) });

interface Setup extends Partial<Omit<RaftConfig, "id" | "storage">> {
  readonly id?: string;
  readonly voters?: readonly string[];
  readonly learners?: readonly string[];
  /** Terms of the entries at indexes 1, 2, ... in storage. */
  readonly log?: readonly number[];
  /** Compacts the storage up to this index before the node starts. */
  readonly compactedTo?: number;
  readonly hardState?: { term: number; vote?: string; commit?: number };
}

interface TestNode {
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  /** Committed entries handed out so far. */
  readonly applied: Entry[];
}

function makeNode(setup: Setup = {}): TestNode {
  const { id = "1", voters = ["1", "2", "3"], learners = [], log = [], hardState, compactedTo, ...options } = setup;
  const confState = { voters: voters.map(n), learners: learners.map(n) };
  const storage = new MemoryStorage({ confState });
  storage.append(log.map((term, k) => entry(k + 1, term)));
  if (compactedTo !== undefined) {
    storage.createSnapshot(i(compactedTo), confState, new Uint8Array(0));
    storage.compact(i(compactedTo));
  }
  if (hardState) {
    const hs: HardState = { term: t(hardState.term), vote: hardState.vote === undefined ? null : n(hardState.vote), commit: i(hardState.commit ?? 0) };
    storage.setHardState(hs);
  }
  const node = new RawNode({ id: n(id), electionTick: 10, heartbeatTick: 1, random: () => 0, preVote: false, checkQuorum: false, storage, ...options });
  return { node, storage, applied: [] };
}

/** Persists and applies every Ready (as a driver would) and returns the messages to send. */
function drain(tn: TestNode): Message[] {
  const out: Message[] = [];
  while (tn.node.hasReady()) {
    const ready = tn.node.ready();
    if (ready.snapshot) tn.storage.applySnapshot(ready.snapshot);
    tn.storage.append(ready.entries);
    if (ready.hardState) tn.storage.setHardState(ready.hardState);
    out.push(...ready.messages);
    tn.applied.push(...ready.committedEntries);
    tn.node.advance(ready);
  }
  return out;
}

const app = (from: string, to: string, term: number, fields: { index: number; logTerm: number; entries?: Entry[]; commit?: number }): AppendMessage => ({
  type: "app",
  from: n(from),
  to: n(to),
  term: t(term),
  index: i(fields.index),
  logTerm: t(fields.logTerm),
  entries: fields.entries ?? [],
  commit: i(fields.commit ?? 0),
});
const appResp = (from: string, to: string, term: number, index: number): AppendResponse => ({
  type: "app-resp",
  from: n(from),
  to: n(to),
  term: t(term),
  index: i(index),
  reject: false,
  rejectHint: i(0),
  logTerm: t(0),
});
const voteReq = (from: string, to: string, term: number, last: { index: number; logTerm: number }, type: "vote" | "pre-vote" = "vote", transfer = false): VoteRequest => ({
  type,
  from: n(from),
  to: n(to),
  term: t(term),
  index: i(last.index),
  logTerm: t(last.logTerm),
  transfer,
});
const voteResp = (from: string, to: string, term: number, reject = false, type: "vote-resp" | "pre-vote-resp" = "vote-resp"): VoteResponse => ({
  type,
  from: n(from),
  to: n(to),
  term: t(term),
  reject,
});
const heartbeat = (from: string, to: string, term: number, commit = 0): HeartbeatMessage => ({ type: "heartbeat", from: n(from), to: n(to), term: t(term), commit: i(commit), context: null });

function tick(tn: TestNode, times: number): void {
  for (let k = 0; k < times; k++) tn.node.tick();
}

/** Makes node 1 leader of (1,2,3) at term 1 with its no-op (index log.length + 1) committed everywhere. */
function makeLeader(setup: Setup = {}): TestNode {
  const tn = makeNode(setup);
  tn.node.campaign();
  const term = tn.node.status().term;
  drain(tn);
  tn.node.step(voteResp("2", "1", term));
  const msgs = drain(tn);
  const last = tn.node.status().lastIndex;
  for (const m of msgs) if (m.type === "app") tn.node.step(appResp(m.to, "1", term, last));
  drain(tn);
  expect(tn.node.status()).toMatchObject({ state: "leader", commit: last });
  return tn;
}

/** The message interface(s) whose `type` admits T (VoteRequest covers both "vote" and "pre-vote"). */
type MessageOf<T extends Message["type"]> = Message extends infer M ? (M extends { type: infer U } ? (T extends U ? M : never) : never) : never;
const ofType = <T extends Message["type"]>(msgs: readonly Message[], type: T): MessageOf<T>[] => msgs.filter((m): m is MessageOf<T> => m.type === type);

describe("terms (Raft §5.1)", () => {
  it("step() steps down to follower on a message with a higher term, as candidate or leader", () => {
    const candidate = makeNode();
    candidate.node.campaign();
    candidate.node.step(app("2", "1", 5, { index: 0, logTerm: 0 }));
    expect(candidate.node.status()).toMatchObject({ state: "follower", term: 5, lead: "2" });

    const leader = makeLeader();
    leader.node.step(voteReq("3", "1", 7, { index: 9, logTerm: 6 }));
    expect(leader.node.status()).toMatchObject({ state: "follower", term: 7, lead: null });
  });

  it("a stale leader's append is answered with the current term when CheckQuorum or PreVote is on (thesis §9.6)", () => {
    const follower = makeNode({ hardState: { term: 3 }, checkQuorum: true });
    follower.node.step(app("2", "1", 2, { index: 0, logTerm: 0 }));
    const [resp] = drain(follower);
    expect(resp).toMatchObject({ type: "app-resp", to: "2", term: 3 });
  });

  it("a message with a lower term is otherwise ignored", () => {
    const follower = makeNode({ hardState: { term: 3 } });
    follower.node.step(app("2", "1", 2, { index: 0, logTerm: 0, entries: [entry(1, 2)] }));
    follower.node.step(voteReq("2", "1", 2, { index: 5, logTerm: 2 }));
    expect(drain(follower)).toEqual([]);
    expect(follower.node.status()).toMatchObject({ term: 3, lastIndex: 0 });
  });
});

describe("leader election (Raft §5.2)", () => {
  it("a follower that hears from no leader for an election timeout becomes candidate, votes for itself and asks every voter", () => {
    const tn = makeNode();
    tick(tn, 9);
    expect(tn.node.status().state).toBe("follower");
    tick(tn, 1);
    expect(tn.node.status()).toMatchObject({ state: "candidate", term: 1, vote: "1" });
    const msgs = drain(tn);
    expect(ofType(msgs, "vote").map((m) => [m.to, m.term])).toEqual([
      ["2", 1],
      ["3", 1],
    ]);
    expect(tn.storage.currentHardState()).toEqual({ term: 1, vote: "1", commit: 0 });
  });

  it("election timeouts are drawn from [electionTick, 2 * electionTick) by the injected random source", () => {
    const seen = new Set<number>();
    for (const r of [0, 0.05, 0.1, 0.35, 0.5, 0.77, 0.9, 0.999999]) {
      const tn = makeNode({ random: () => r });
      let ticks = 0;
      while (tn.node.status().state === "follower") {
        tn.node.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      expect(ticks).toBe(10 + Math.floor(r * 10));
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it("a node grants at most one vote per term, first come first served, and repeats its vote to the same candidate", () => {
    const tn = makeNode();
    tn.node.step(voteReq("2", "1", 1, { index: 0, logTerm: 0 }));
    tn.node.step(voteReq("3", "1", 1, { index: 0, logTerm: 0 }));
    tn.node.step(voteReq("2", "1", 1, { index: 0, logTerm: 0 }));
    const answers = ofType(drain(tn), "vote-resp").map((m) => [m.to, m.reject]);
    expect(answers).toEqual([
      ["2", false],
      ["3", true],
      ["2", false],
    ]);
    expect(tn.storage.currentHardState().vote).toBe("2");
  });

  it("a candidate that gets a majority becomes leader and appends a no-op of its term (§8)", () => {
    const tn = makeNode({ log: [1, 1], hardState: { term: 1, commit: 2 } });
    tn.node.campaign();
    drain(tn);
    tn.node.step(voteResp("3", "1", 2));
    expect(tn.node.status().state).toBe("leader");
    const ready = tn.node.ready();
    expect(ready.entries).toEqual([entry(3, 2)]);
    expect(ofType([...ready.messages], "app").map((m) => [m.to, m.index, m.logTerm, m.entries.length])).toEqual([
      ["2", 2, 1, 1],
      ["3", 2, 1, 1],
    ]);
  });

  it("a candidate returns to follower when a leader of its term appends", () => {
    const tn = makeNode();
    tn.node.campaign();
    tn.node.step(app("2", "1", 1, { index: 0, logTerm: 0 }));
    expect(tn.node.status()).toMatchObject({ state: "follower", term: 1, lead: "2" });
  });

  it("a candidate refused by a majority returns to follower; a split vote starts a new election at the next timeout", () => {
    const lost = makeNode();
    lost.node.campaign();
    lost.node.step(voteResp("2", "1", 1, true));
    expect(lost.node.status().state).toBe("candidate");
    lost.node.step(voteResp("3", "1", 1, true));
    expect(lost.node.status()).toMatchObject({ state: "follower", term: 1 });

    const split = makeNode();
    split.node.campaign();
    tick(split, 10);
    expect(split.node.status()).toMatchObject({ state: "candidate", term: 2 });
  });

  it("votes are refused to a candidate whose log is less up-to-date (§5.4.1)", () => {
    const tn = makeNode({ log: [1, 2, 2], hardState: { term: 2 } });
    tn.node.step(voteReq("2", "1", 3, { index: 9, logTerm: 1 }));
    tn.node.step(voteReq("3", "1", 4, { index: 2, logTerm: 2 }));
    expect(ofType(drain(tn), "vote-resp").map((m) => [m.to, m.reject])).toEqual([
      ["2", true],
      ["3", true],
    ]);
    tn.node.step(voteReq("3", "1", 5, { index: 3, logTerm: 2 }));
    expect(ofType(drain(tn), "vote-resp").map((m) => [m.to, m.reject])).toEqual([["3", false]]);
  });

  it("a learner does not campaign but may vote when asked (a promotion it has not applied yet)", () => {
    const tn = makeNode({ voters: ["2", "3"], learners: ["1"] });
    tick(tn, 30);
    expect(tn.node.status().state).toBe("follower");
    tn.node.step(voteReq("2", "1", 1, { index: 0, logTerm: 0 }));
    expect(ofType(drain(tn), "vote-resp")[0]?.reject).toBe(false);
  });
});

describe("log replication (Raft §5.3)", () => {
  it("a leader sends new entries to every follower and commits once a majority has persisted them", () => {
    const leader = makeLeader();
    const proposed = leader.node.propose(new TextEncoder().encode("x"));
    expect(proposed).toEqual({ ok: true, via: "appended", term: 1, index: 2 });
    const apps = ofType(drain(leader), "app");
    expect(apps.map((m) => [m.to, m.index, m.entries.map((e) => e.index)])).toEqual([
      ["2", 1, [2]],
      ["3", 1, [2]],
    ]);
    expect(leader.node.status().commit).toBe(1);
    leader.node.step(appResp("2", "1", 1, 2));
    expect(leader.node.status().commit).toBe(2);
    drain(leader);
    expect(leader.applied.map((e) => e.index)).toContain(2);
  });

  it("a leader counts its own entries only once they are persisted (thesis §3.8)", () => {
    const leader = makeLeader();
    leader.node.propose(new TextEncoder().encode("x"));
    const ready = leader.node.ready();
    // A follower acknowledges before the leader has persisted its own Ready: no majority yet.
    leader.node.step(appResp("2", "1", 1, 2));
    expect(leader.node.status().commit).toBe(1);
    leader.storage.append(ready.entries);
    leader.node.advance(ready);
    expect(leader.node.status().commit).toBe(2);

    const single = makeNode({ voters: ["1"] });
    single.node.campaign();
    const first = single.node.ready();
    expect(first.entries).toHaveLength(1);
    expect(single.node.status().commit).toBe(0);
    single.storage.append(first.entries);
    single.node.advance(first);
    expect(single.node.status().commit).toBe(1);
  });

  it("a follower rejects an append whose previous entry it lacks, hinting at where its log ends", () => {
    const tn = makeNode({ log: [1, 1] });
    tn.node.step(app("2", "1", 2, { index: 5, logTerm: 2, entries: [entry(6, 2)] }));
    const [resp] = ofType(drain(tn), "app-resp");
    expect(resp).toMatchObject({ reject: true, index: 5, rejectHint: 2, logTerm: 1 });
  });

  it("a follower with a divergent tail hints past every entry of a term above the probe's", () => {
    const tn = makeNode({ log: [1, 3, 3, 4, 4, 5, 5, 5, 6], hardState: { term: 6 } });
    tn.node.step(app("2", "1", 7, { index: 8, logTerm: 3 }));
    const [resp] = ofType(drain(tn), "app-resp");
    expect(resp).toMatchObject({ reject: true, index: 8, rejectHint: 3, logTerm: 3 });
  });

  it("a follower deletes a conflicting suffix, appends, and acknowledges the last new index", () => {
    const tn = makeNode({ log: [1, 1, 2, 2], hardState: { term: 2 } });
    tn.node.step(app("2", "1", 3, { index: 2, logTerm: 1, entries: [entry(3, 3, "a")], commit: 3 }));
    const [resp] = ofType(drain(tn), "app-resp");
    expect(resp).toMatchObject({ reject: false, index: 3 });
    expect(tn.storage.lastIndex()).toBe(3);
    expect(tn.storage.term(i(3))).toBe(3);
    expect(tn.applied.map((e) => `${e.term}/${e.index}`)).toEqual(["1/1", "1/2", "3/3"]);
  });

  it("a leader backs up on a rejection using the hint, skipping whole terms, and repairs the follower", () => {
    // Leader log 1 3 3 3 5 5 5 5 5, then its no-op at term 6; the follower's is 1 1 1 1 2 2.
    const tn = makeNode({ log: [1, 3, 3, 3, 5, 5, 5, 5, 5], hardState: { term: 5, commit: 1 } });
    tn.node.campaign();
    drain(tn);
    tn.node.step(voteResp("3", "1", 6));
    expect(ofType(drain(tn), "app").find((m) => m.to === "2")).toMatchObject({ index: 9, logTerm: 5 });
    tn.node.step({ ...appResp("2", "1", 6, 9), reject: true, rejectHint: i(6), logTerm: t(2) });
    const [probe] = ofType(drain(tn), "app").filter((m) => m.to === "2");
    // Every index whose term is above 2 is skipped: the next probe follows index 1.
    expect(probe).toMatchObject({ index: 1, logTerm: 1 });
    expect(probe?.entries.map((e) => e.index)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    tn.node.step(appResp("2", "1", 6, 10));
    expect(tn.node.status().progress?.find((p) => p.id === "2")).toMatchObject({ state: "replicate", match: 10 });
  });

  it("a heartbeat never commits past what the follower is known to hold", () => {
    const leader = makeLeader();
    leader.node.propose(new TextEncoder().encode("x"));
    drain(leader);
    leader.node.step(appResp("2", "1", 1, 2));
    drain(leader);
    tick(leader, 1);
    const beats = ofType(drain(leader), "heartbeat").map((m) => [m.to, m.commit]);
    expect(beats).toEqual([
      ["2", 2],
      ["3", 1],
    ]);
  });
});

describe("safety (Raft §5.4)", () => {
  it("a leader never commits an entry from a previous term by counting replicas (§5.4.2)", () => {
    // Index 2 (term 2) is on the leader and, below, on both followers; it is not committed.
    const tn = makeNode({ log: [1, 2], hardState: { term: 2, vote: "1", commit: 1 } });
    tn.node.campaign();
    drain(tn);
    tn.node.step(voteResp("2", "1", 3));
    drain(tn);
    expect(tn.node.status()).toMatchObject({ state: "leader", term: 3, lastIndex: 3 });
    tn.node.step(appResp("2", "1", 3, 2));
    tn.node.step(appResp("3", "1", 3, 2));
    expect(tn.node.status().commit).toBe(1);
    // Once the no-op of term 3 is on a majority, it commits and index 2 with it.
    tn.node.step(appResp("2", "1", 3, 3));
    expect(tn.node.status().commit).toBe(3);
  });
});

describe("PreVote (thesis §9.6)", () => {
  it("a pre-candidate asks for the next term without taking it, and campaigns for real once a majority agrees", () => {
    const tn = makeNode({ preVote: true, hardState: { term: 4 } });
    tick(tn, 10);
    expect(tn.node.status()).toMatchObject({ state: "pre-candidate", term: 4, vote: null });
    const preVotes = ofType(drain(tn), "pre-vote");
    expect(preVotes.map((m) => [m.to, m.term])).toEqual([
      ["2", 5],
      ["3", 5],
    ]);
    tn.node.step(voteResp("2", "1", 5, false, "pre-vote-resp"));
    expect(tn.node.status()).toMatchObject({ state: "candidate", term: 5, vote: "1" });
  });

  it("a pre-candidate refused by a majority stays at its term", () => {
    const tn = makeNode({ preVote: true, hardState: { term: 4 } });
    tn.node.campaign();
    tn.node.step(voteResp("2", "1", 4, true, "pre-vote-resp"));
    tn.node.step(voteResp("3", "1", 4, true, "pre-vote-resp"));
    expect(tn.node.status()).toMatchObject({ state: "follower", term: 4 });
  });

  it("a pre-vote is granted for a future term even after voting in this one, and changes neither term nor vote", () => {
    const tn = makeNode({ preVote: true, hardState: { term: 2, vote: "3" } });
    tn.node.step(voteReq("2", "1", 3, { index: 0, logTerm: 0 }, "pre-vote"));
    const [resp] = ofType(drain(tn), "pre-vote-resp");
    expect(resp).toMatchObject({ to: "2", term: 3, reject: false });
    expect(tn.node.status()).toMatchObject({ term: 2, vote: "3" });
  });

  it("a pre-vote from a lower term is refused with the current term", () => {
    const tn = makeNode({ preVote: true, hardState: { term: 4 } });
    tn.node.step(voteReq("2", "1", 3, { index: 0, logTerm: 0 }, "pre-vote"));
    const [resp] = ofType(drain(tn), "pre-vote-resp");
    expect(resp).toMatchObject({ reject: true, term: 4 });
  });
});

describe("CheckQuorum and the leader lease (thesis §6.2, §4.2.3)", () => {
  it("a leader that hears from no quorum for an election timeout steps down", () => {
    const leader = makeLeader({ checkQuorum: true });
    tick(leader, 10);
    expect(leader.node.status().state).toBe("leader");
    leader.node.step({ type: "heartbeat-resp", from: n("2"), to: n("1"), term: t(1), context: null });
    tick(leader, 10);
    expect(leader.node.status().state).toBe("leader");
    tick(leader, 10);
    expect(leader.node.status()).toMatchObject({ state: "follower", term: 1, lead: null });
  });

  it("a follower that heard from its leader within the election timeout ignores vote requests, unless the leader asked for them (§3.10)", () => {
    const tn = makeNode({ checkQuorum: true, log: [1], hardState: { term: 1 } });
    tn.node.step(heartbeat("2", "1", 1));
    tn.node.step(voteReq("3", "1", 2, { index: 5, logTerm: 1 }));
    expect(drain(tn).filter((m) => m.type === "vote-resp")).toEqual([]);
    expect(tn.node.status()).toMatchObject({ term: 1, lead: "2" });
    tn.node.step(voteReq("3", "1", 2, { index: 5, logTerm: 1 }, "vote", true));
    expect(ofType(drain(tn), "vote-resp")[0]).toMatchObject({ reject: false, term: 2 });
  });

  it("the lease ends after an election timeout without the leader", () => {
    const tn = makeNode({ checkQuorum: true, hardState: { term: 1 }, random: () => 0.5 });
    tn.node.step(heartbeat("2", "1", 1));
    tick(tn, 10);
    tn.node.step(voteReq("3", "1", 2, { index: 0, logTerm: 0 }));
    expect(ofType(drain(tn), "vote-resp")[0]).toMatchObject({ reject: false });
  });
});

describe("a follower that lost its link to the leader", () => {
  const lossy = { checkQuorum: true, preVote: true, log: [1], hardState: { term: 1 } } as const;

  it("campaigns (PreVote) within 3 ticks instead of an election timeout", () => {
    for (const r of [0, 0.5, 0.99]) {
      const tn = makeNode({ ...lossy, random: () => r });
      tn.node.step(heartbeat("2", "1", 1));
      drain(tn);
      tn.node.reportUnreachable(n("2"));
      let preVotes: Message[] = [];
      for (let ticks = 0; ticks < 3 && preVotes.length === 0; ticks++) {
        tick(tn, 1);
        preVotes = ofType(drain(tn), "pre-vote");
      }
      expect(preVotes.map((m) => m.to)).toEqual(["2", "3"]);
      expect(tn.node.status()).toMatchObject({ state: "pre-candidate", term: 1 });
    }
  });

  it("grants pre-votes although the election timeout has not passed, since the leader's lease is over for it", () => {
    const tn = makeNode({ ...lossy, random: () => 0.99 });
    tn.node.step(heartbeat("2", "1", 1));
    tn.node.step(voteReq("3", "1", 2, { index: 1, logTerm: 1 }, "pre-vote"));
    expect(ofType(drain(tn), "pre-vote-resp")).toEqual([]);
    tn.node.reportUnreachable(n("2"));
    tn.node.step(voteReq("3", "1", 2, { index: 1, logTerm: 1 }, "pre-vote"));
    expect(ofType(drain(tn), "pre-vote-resp")[0]).toMatchObject({ reject: false, term: 2 });
  });

  it("forgets the report once the leader is heard from again", () => {
    const tn = makeNode({ ...lossy, random: () => 0.99 });
    tn.node.step(heartbeat("2", "1", 1));
    tn.node.reportUnreachable(n("2"));
    tn.node.step(heartbeat("2", "1", 1));
    tick(tn, 9);
    tn.node.step(voteReq("3", "1", 2, { index: 1, logTerm: 1 }, "pre-vote"));
    const msgs = drain(tn);
    expect(ofType(msgs, "pre-vote")).toEqual([]);
    expect(ofType(msgs, "pre-vote-resp")).toEqual([]);
    expect(tn.node.status()).toMatchObject({ state: "follower", lead: "2" });
  });

  it("after a split vote with the other follower that lost the leader, campaigns again within a few ticks", () => {
    // Followers 2 and 3 lose leader 1 together and draw the same first wait (1 tick): both
    // campaign at once and each votes for itself. Their next tries come 2 and 3 ticks later
    // (random 0 and 0.3), not after a whole election timeout (10 and 13 ticks): 2 wins at term 3.
    const [a, b] = [makeNode({ ...lossy, id: "2", random: () => 0 }), makeNode({ ...lossy, id: "3", random: () => 0.3 })];
    const peers = new Map([["2", a], ["3", b]]);
    /** Delivers every pending message between 2 and 3 (those to the dead leader are dropped) until none is left. */
    const exchange = (): void => {
      for (let moved = true; moved; ) {
        moved = false;
        for (const tn of [a, b]) {
          for (const m of drain(tn)) {
            const to = peers.get(m.to);
            if (to === undefined) continue;
            to.node.step(m);
            moved = true;
          }
        }
      }
    };
    for (const tn of [a, b]) {
      tn.node.step(heartbeat("1", tn.node.status().id, 1));
      tn.node.reportUnreachable(n("1"));
    }
    exchange();
    tick(a, 1);
    tick(b, 1);
    exchange();
    expect([a.node.status(), b.node.status()]).toMatchObject([
      { state: "candidate", term: 2 },
      { state: "candidate", term: 2 },
    ]);
    tick(b, 1);
    tick(a, 2);
    exchange();
    expect(a.node.status()).toMatchObject({ state: "leader", term: 3 });
    expect(b.node.status()).toMatchObject({ state: "follower", term: 3, lead: "2" });
  });

  it("keeps whole election timeouts once a majority refused its pre-vote", () => {
    const tn = makeNode({ ...lossy, random: () => 0 });
    tn.node.step(heartbeat("2", "1", 1));
    tn.node.reportUnreachable(n("2"));
    tick(tn, 1);
    expect(ofType(drain(tn), "pre-vote")).toHaveLength(2);
    tn.node.step(voteResp("3", "1", 1, true, "pre-vote-resp"));
    tn.node.step(voteResp("2", "1", 1, true, "pre-vote-resp"));
    expect(tn.node.status()).toMatchObject({ state: "follower", term: 1 });
    drain(tn);
    tick(tn, 9);
    expect(drain(tn).filter((m) => m.type === "pre-vote")).toEqual([]);
    tick(tn, 1);
    expect(ofType(drain(tn), "pre-vote")).toHaveLength(2);
  });

  it("is ignored without PreVote, without CheckQuorum, with lease-based reads, and for a peer that is not the leader", () => {
    const setups = [
      { ...lossy, preVote: false },
      { ...lossy, checkQuorum: false },
      { ...lossy, readOnlyOption: "lease-based" as const },
    ];
    for (const setup of setups) {
      const tn = makeNode({ ...setup, random: () => 0.99 });
      tn.node.step(heartbeat("2", "1", 1));
      tn.node.reportUnreachable(n("2"));
      tick(tn, 9);
      expect(drain(tn).filter((m) => m.type === "pre-vote" || m.type === "vote")).toEqual([]);
    }
    const tn = makeNode({ ...lossy, random: () => 0.99 });
    tn.node.step(heartbeat("2", "1", 1));
    tn.node.reportUnreachable(n("3"));
    tick(tn, 9);
    expect(drain(tn).filter((m) => m.type === "pre-vote")).toEqual([]);
  });
});

describe("ReadIndex (thesis §6.4)", () => {
  it("a new leader holds a read until an entry of its term commits, then confirms leadership by a heartbeat round", () => {
    const tn = makeNode();
    tn.node.campaign();
    drain(tn);
    tn.node.step(voteResp("2", "1", 1));
    expect(tn.node.readIndex("r1")).toEqual({ ok: true });
    expect(ofType(drain(tn), "heartbeat")).toEqual([]);
    tn.node.step(appResp("2", "1", 1, 1));
    const beats = ofType(drain(tn), "heartbeat");
    expect(beats.map((m) => [m.to, m.context])).toEqual([
      ["2", "r1"],
      ["3", "r1"],
    ]);
    tn.node.step({ type: "heartbeat-resp", from: n("3"), to: n("1"), term: t(1), context: "r1" });
    const ready = tn.node.ready();
    expect(ready.readStates).toEqual([{ index: 1, context: "r1" }]);
    tn.node.advance(ready);
  });

  it("a heartbeat acknowledgement releases every read queued before it", () => {
    const leader = makeLeader();
    leader.node.readIndex("a");
    leader.node.readIndex("b");
    drain(leader);
    leader.node.step({ type: "heartbeat-resp", from: n("2"), to: n("1"), term: t(1), context: "b" });
    const ready = leader.node.ready();
    expect(ready.readStates.map((r) => r.context)).toEqual(["a", "b"]);
    leader.node.advance(ready);
  });

  it("a follower's read goes to the leader, whose answer becomes a ReadState", () => {
    const follower = makeNode();
    expect(follower.node.readIndex("x")).toEqual({ ok: false, reason: "not-leader" });
    follower.node.step(heartbeat("2", "1", 1));
    expect(follower.node.readIndex("x")).toEqual({ ok: true });
    expect(ofType(drain(follower), "read-index")).toMatchObject([{ to: "2", context: "x" }]);
    follower.node.step({ type: "read-index-resp", from: n("2"), to: n("1"), term: t(1), index: i(7), context: "x" });
    expect(follower.node.ready().readStates).toEqual([{ index: 7, context: "x" }]);
  });

  it("a lease-based leader answers at once (thesis §6.4.1)", () => {
    const leader = makeLeader({ checkQuorum: true, readOnlyOption: "lease-based" });
    leader.node.readIndex("a");
    const ready = leader.node.ready();
    expect(ready.readStates).toEqual([{ index: 1, context: "a" }]);
    expect(ofType([...ready.messages], "heartbeat")).toEqual([]);
    leader.node.advance(ready);
  });
});

describe("leadership transfer (thesis §3.10)", () => {
  it("sends timeout-now once the target is up to date; the target campaigns at once, without PreVote", () => {
    const leader = makeLeader();
    leader.node.propose(new TextEncoder().encode("x"));
    drain(leader);
    leader.node.step(appResp("3", "1", 1, 2));
    drain(leader);
    expect(leader.node.transferLeader(n("2"))).toEqual({ ok: true });
    expect(ofType(drain(leader), "timeout-now")).toEqual([]);
    expect(leader.node.propose(new Uint8Array([1]))).toEqual({ ok: false, reason: "transfer-in-progress", leaderHint: "1" });
    leader.node.step(appResp("2", "1", 1, 2));
    expect(ofType(drain(leader), "timeout-now")).toMatchObject([{ to: "2" }]);

    const target = makeNode({ id: "2", preVote: true, checkQuorum: true });
    target.node.step({ type: "timeout-now", from: n("1"), to: n("2"), term: t(0) });
    expect(target.node.status()).toMatchObject({ state: "candidate", term: 1 });
    expect(ofType(drain(target), "vote").every((m) => m.transfer)).toBe(true);
  });

  it("is abandoned after an election timeout, and refuses learners, strangers and itself", () => {
    const leader = makeLeader({ learners: ["4"] });
    leader.node.transferLeader(n("3"));
    tick(leader, 10);
    expect(leader.node.status().leadTransferee).toBeNull();
    expect(leader.node.propose(new Uint8Array([1])).ok).toBe(true);
    expect(leader.node.transferLeader(n("4"))).toEqual({ ok: false, reason: "not-a-voter" });
    expect(leader.node.transferLeader(n("9"))).toEqual({ ok: false, reason: "not-a-voter" });
    expect(leader.node.transferLeader(n("1"))).toEqual({ ok: false, reason: "already-leader" });
  });
});

describe("log compaction and InstallSnapshot (Raft §7)", () => {
  const snapshot = (index: number, term: number, voters = ["1", "2", "3"]) => ({
    metadata: { index: i(index), term: t(term), confState: { voters: voters.map(n), learners: [] } },
    data: new TextEncoder().encode("state"),
  });

  it("a follower restores a snapshot newer than its log, persists it before acknowledging, and takes its membership", () => {
    const tn = makeNode({ log: [1, 1] });
    tn.node.step({ type: "snap", from: n("2"), to: n("1"), term: t(2), snapshot: snapshot(10, 2, ["1", "2", "3", "4"]) });
    const ready = tn.node.ready();
    expect(ready.snapshot?.metadata.index).toBe(10);
    expect(ready.mustSync).toBe(true);
    expect(ready.messages).toMatchObject([{ type: "app-resp", index: 10, reject: false }]);
    tn.storage.applySnapshot(ready.snapshot as never);
    tn.node.advance(ready);
    expect(tn.node.status()).toMatchObject({ commit: 10, applied: 10, lastIndex: 10, config: { voters: ["1", "2", "3", "4"] } });
  });

  it("a snapshot the log already covers only moves the commit index (entries after it are kept)", () => {
    const tn = makeNode({ log: [1, 1, 2, 2], hardState: { term: 2, commit: 1 } });
    tn.node.step({ type: "snap", from: n("2"), to: n("1"), term: t(2), snapshot: snapshot(3, 2) });
    const ready = tn.node.ready();
    expect(ready.snapshot).toBeUndefined();
    expect(ready.messages).toMatchObject([{ type: "app-resp", index: 3 }]);
    expect(tn.node.status()).toMatchObject({ commit: 3, lastIndex: 4 });
  });

  it("a leader sends a snapshot to a follower that needs compacted entries, and resends it if it was lost", () => {
    const leader = makeNode({ log: [1, 1, 1, 1], compactedTo: 4, hardState: { term: 1, commit: 4 }, snapshotTimeoutTick: 30 });
    leader.node.campaign();
    drain(leader);
    leader.node.step(voteResp("3", "1", 2));
    drain(leader);
    leader.node.step(appResp("3", "1", 2, 5));
    drain(leader);
    // Node 2 has an empty log: the probe after index 4 is rejected, and index 0 is compacted.
    leader.node.step({ ...appResp("2", "1", 2, 4), reject: true, rejectHint: i(0), logTerm: t(0) });
    const [snap] = ofType(drain(leader), "snap");
    expect(snap?.snapshot.metadata.index).toBe(4);
    expect(leader.node.status().progress?.find((p) => p.id === "2")).toMatchObject({ state: "snapshot", pendingSnapshot: 4 });
    // Lost without a report: after snapshotTimeoutTick ticks the leader tries again.
    tick(leader, 29);
    expect(ofType(drain(leader), "snap")).toEqual([]);
    tick(leader, 1);
    expect(ofType(drain(leader), "snap")).toHaveLength(1);
    // A failure report makes it probe, and so resend, at the next heartbeat answer.
    leader.node.reportSnapshot(n("2"), "failed");
    leader.node.step({ type: "heartbeat-resp", from: n("2"), to: n("1"), term: t(2), context: null });
    expect(ofType(drain(leader), "snap")).toHaveLength(1);
    // Once installed, the follower's answer resumes replication after the snapshot.
    leader.node.step(appResp("2", "1", 2, 4));
    expect(leader.node.status().progress?.find((p) => p.id === "2")).toMatchObject({ state: "replicate", match: 4 });
  });
});

describe("proposals", () => {
  it("a follower forwards a proposal to its leader, or refuses it without one", () => {
    const tn = makeNode();
    expect(tn.node.propose(new Uint8Array([1]))).toEqual({ ok: false, reason: "not-leader" });
    tn.node.step(heartbeat("2", "1", 1));
    expect(tn.node.propose(new Uint8Array([1]))).toEqual({ ok: true, via: "forwarded", leader: "2" });
    expect(ofType(drain(tn), "prop")).toMatchObject([{ to: "2", entries: [{ type: "normal" }] }]);
  });

  it("a leader refuses proposals past its uncommitted budget, and an empty tail takes any one", () => {
    const leader = makeLeader({ maxUncommittedEntriesSize: 10 });
    expect(leader.node.propose(new Uint8Array(25)).ok).toBe(true);
    expect(leader.node.propose(new Uint8Array(1))).toEqual({ ok: false, reason: "uncommitted-too-large" });
    expect(leader.node.propose(new Uint8Array(0)).ok).toBe(true);
  });

  it("only one conf change may be pending (thesis §4.1)", () => {
    const leader = makeLeader();
    expect(leader.node.proposeConfChange({ type: "add-voter", nodeId: n("4") }).ok).toBe(true);
    expect(leader.node.proposeConfChange({ type: "remove-node", nodeId: n("3") })).toEqual({ ok: false, reason: "conf-change-pending" });
    drain(leader);
    leader.node.step(appResp("2", "1", 1, 2));
    drain(leader);
    expect(leader.node.status().config.voters).toEqual(["1", "2", "3", "4"]);
    expect(leader.node.proposeConfChange({ type: "remove-node", nodeId: n("3") }).ok).toBe(true);
  });

  it("a conf change refused for size does not block the next one", () => {
    const leader = makeLeader({ maxUncommittedEntriesSize: 5 });
    expect(leader.node.propose(new Uint8Array(10)).ok).toBe(true);
    expect(leader.node.proposeConfChange({ type: "add-learner", nodeId: n("4") })).toEqual({ ok: false, reason: "uncommitted-too-large" });
    drain(leader);
    leader.node.step(appResp("2", "1", 1, 2));
    drain(leader);
    expect(leader.node.proposeConfChange({ type: "add-learner", nodeId: n("4") }).ok).toBe(true);
  });

  it("a committed conf change applied after a newer snapshot was restored leaves the snapshot's membership", () => {
    const tn = makeNode({ id: "2" });
    const cc = { index: i(1), term: t(1), type: "conf-change" as const, data: encodeConfChange({ type: "add-voter", nodeId: n("4") }) };
    tn.node.step(app("1", "2", 1, { index: 0, logTerm: 0, entries: [cc], commit: 1 }));
    const ready = tn.node.ready();
    expect(ready.committedEntries).toHaveLength(1);
    const snapshot = { metadata: { index: i(10), term: t(1), confState: { voters: [n("1"), n("2"), n("5")], learners: [] } }, data: new Uint8Array(0) };
    tn.node.step({ type: "snap", from: n("1"), to: n("2"), term: t(1), snapshot });
    tn.storage.append(ready.entries);
    tn.node.advance(ready);
    expect(tn.node.status().config.voters).toEqual(["1", "2", "5"]);
  });

  it("a leader removed by a conf change steps down once it applies it (thesis §4.2.2)", () => {
    const leader = makeLeader();
    leader.node.proposeConfChange({ type: "remove-node", nodeId: n("1") });
    drain(leader);
    leader.node.step(appResp("2", "1", 1, 2));
    drain(leader);
    expect(leader.node.status()).toMatchObject({ state: "follower", config: { voters: ["2", "3"] } });
  });
});
