import { describe, expect, it } from "vitest";
import type { LogIndex, NodeId } from "./ids.ts";
import { ProgressTracker } from "./progress-tracker.ts";

const n = (id: string): NodeId => id as NodeId;
const tracker = (): ProgressTracker => new ProgressTracker({ maxInflight: 4, maxInflightBytes: Number.POSITIVE_INFINITY });

describe("ProgressTracker", () => {
  it("setConfState() keeps the progress of members that stay and starts new members probing", () => {
    const t = tracker();
    t.setConfState({ voters: [n("3"), n("1"), n("2")], learners: [] }, 5 as LogIndex);
    (t.progress.get(n("1")) as { match: LogIndex }).match = 4 as LogIndex;
    t.setConfState({ voters: [n("1"), n("2")], learners: [n("4")] }, 9 as LogIndex);
    expect(t.members).toEqual(["1", "2", "4"]);
    expect(t.progress.get(n("1"))?.match).toBe(4);
    expect(t.progress.has(n("3"))).toBe(false);
    expect(t.progress.get(n("4"))).toMatchObject({ next: 9, isLearner: true, recentActive: true, state: "probe" });
  });

  it("a node listed as both voter and learner is a voter", () => {
    const t = tracker();
    t.setConfState({ voters: [n("1")], learners: [n("1"), n("2")] }, 1 as LogIndex);
    expect([t.voters, t.learners]).toEqual([["1"], ["2"]]);
  });

  it("committed() ignores learners", () => {
    const t = tracker();
    t.setConfState({ voters: [n("1"), n("2"), n("3")], learners: [n("4")] }, 1 as LogIndex);
    const set = (id: string, match: number): void => {
      (t.progress.get(n(id)) as { match: LogIndex }).match = match as LogIndex;
    };
    set("1", 9);
    set("4", 9);
    set("2", 3);
    expect(t.committed()).toBe(3);
  });

  it("tallyVotes() counts only the first answer of each voter", () => {
    const t = tracker();
    t.setConfState({ voters: [n("1"), n("2"), n("3")], learners: [] }, 1 as LogIndex);
    t.recordVote(n("1"), true);
    t.recordVote(n("2"), false);
    t.recordVote(n("2"), true);
    expect(t.tallyVotes()).toEqual({ granted: 1, rejected: 1, result: "pending" });
    t.recordVote(n("3"), false);
    expect(t.tallyVotes().result).toBe("lost");
  });

  it("isQuorumActive() counts the leader itself and recently active voters (thesis §6.2)", () => {
    const t = tracker();
    t.setConfState({ voters: [n("1"), n("2"), n("3")], learners: [n("4")] }, 1 as LogIndex);
    for (const pr of t.progress.values()) pr.recentActive = false;
    (t.progress.get(n("4")) as { recentActive: boolean }).recentActive = true;
    expect(t.isQuorumActive(n("1"))).toBe(false);
    (t.progress.get(n("3")) as { recentActive: boolean }).recentActive = true;
    expect(t.isQuorumActive(n("1"))).toBe(true);
  });
});
