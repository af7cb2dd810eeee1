// Whole-cluster scenarios on the in-process harness: elections, failures, partitions, repair,
// snapshots, membership changes and transfer, each ending in agreement on what was applied.
import { describe, expect, it } from "vitest";
import { logIndex, nodeId } from "../src/index.ts";
import { Cluster, text } from "./cluster.ts";

/** Ticks until some node leads (and the cluster is quiet), or fails after `maxTicks`. */
function waitForLeader(c: Cluster, maxTicks = 100): string {
  for (let k = 0; k < maxTicks; k++) {
    const leader = c.leader();
    if (leader !== null && c.status(leader).commit === c.status(leader).lastIndex) return leader;
    c.tickAll();
  }
  throw new Error("no leader elected");
}

function proposeAndSettle(c: Cluster, at: string, data: string): void {
  const result = c.node(at).propose(text(data));
  expect(result.ok, `proposal ${data} at ${at}: ${JSON.stringify(result)}`).toBe(true);
  c.stabilize();
}

describe("cluster scenarios", () => {
  it("three nodes elect exactly one leader by timeout and replicate to everyone (§5.2, §5.3)", () => {
    const c = new Cluster({ seed: 7 });
    const leader = waitForLeader(c);
    const states = ["1", "2", "3"].map((id) => c.status(id));
    expect(states.filter((s) => s.state === "leader")).toHaveLength(1);
    expect(new Set(states.map((s) => s.term)).size).toBe(1);
    proposeAndSettle(c, leader, "a");
    proposeAndSettle(c, leader, "b");
    for (const id of ["1", "2", "3"]) expect(c.appliedData(id)).toEqual(["a", "b"]);
  });

  it("after the leader crashes the others elect a leader holding every committed entry (§5.4.3 leader completeness)", () => {
    const c = new Cluster({ seed: 3 });
    const first = waitForLeader(c);
    proposeAndSettle(c, first, "a");
    c.crash(first);
    const second = waitForLeader(c);
    expect(second).not.toBe(first);
    expect(c.status(second).term).toBeGreaterThan(c.status(first).term);
    proposeAndSettle(c, second, "b");
    c.restart(first);
    c.tickAll(5);
    for (const id of ["1", "2", "3"]) expect(c.appliedData(id)).toEqual(["a", "b"]);
  });

  it("a leader cut off in a minority steps down by CheckQuorum and loses its uncommitted entries on rejoining (thesis §6.2, §5.3)", () => {
    const c = new Cluster({ seed: 11, voters: ["1", "2", "3", "4", "5"] });
    const old = waitForLeader(c);
    const buddy = ["1", "2", "3", "4", "5"].find((id) => id !== old) as string;
    c.partition([old, buddy]);
    expect(c.node(old).propose(text("lost")).ok).toBe(true);
    c.stabilize();
    expect(c.status(old).commit).toBeLessThan(c.status(old).lastIndex);
    let newLeader: string | null = null;
    for (let k = 0; k < 60 && (newLeader === null || c.status(old).state === "leader"); k++) {
      c.tickAll();
      const leaders = ["1", "2", "3", "4", "5"].filter((id) => id !== old && c.status(id).state === "leader");
      newLeader = leaders[0] ?? null;
    }
    expect(newLeader).not.toBeNull();
    expect(c.status(old).state).toBe("follower");
    proposeAndSettle(c, newLeader as string, "kept");
    c.heal();
    c.tickAll(5);
    for (const id of ["1", "2", "3", "4", "5"]) expect(c.appliedData(id)).toEqual(["kept"]);
  });

  it("a follower with a long divergent tail is repaired by the new leader (§5.3)", () => {
    const c = new Cluster({ seed: 5 });
    const old = waitForLeader(c);
    c.partition([old]);
    for (let k = 0; k < 20; k++) c.node(old).propose(text(`stale${k}`));
    c.stabilize();
    const others = ["1", "2", "3"].filter((id) => id !== old);
    let next: string | null = null;
    for (let k = 0; k < 60 && next === null; k++) {
      c.tickAll();
      next = others.find((id) => c.status(id).state === "leader") ?? null;
    }
    for (let k = 0; k < 5; k++) proposeAndSettle(c, next as string, `fresh${k}`);
    c.heal();
    c.tickAll(5);
    const expected = ["fresh0", "fresh1", "fresh2", "fresh3", "fresh4"];
    for (const id of ["1", "2", "3"]) expect(c.appliedData(id)).toEqual(expected);
    const leaderLog = c.member(next as string).storage;
    const oldLog = c.member(old).storage;
    expect(oldLog.lastIndex()).toBe(leaderLog.lastIndex());
    for (let k = 1; k <= leaderLog.lastIndex(); k++) expect(oldLog.term(logIndex(k))).toBe(leaderLog.term(logIndex(k)));
  });

  it("a lagging follower catches up by snapshot once the leader has compacted its log (§7)", () => {
    const c = new Cluster({ seed: 2 });
    const leader = waitForLeader(c);
    const lagging = ["1", "2", "3"].find((id) => id !== leader) as string;
    c.crash(lagging);
    for (let k = 0; k < 10; k++) proposeAndSettle(c, leader, `e${k}`);
    const applied = c.status(leader).applied;
    c.compact(leader, applied);
    c.restart(lagging);
    const sentBefore = c.sent.length;
    c.tickAll(3);
    expect(c.sent.slice(sentBefore).some((m) => m.type === "snap" && m.to === lagging)).toBe(true);
    expect(c.member(lagging).storage.snapshot().metadata.index).toBe(applied);
    proposeAndSettle(c, leader, "after");
    expect(c.appliedData(lagging)).toEqual(["after"]);
    expect(c.status(lagging).applied).toBe(c.status(leader).applied);
  });

  it("adds a voter, adds a learner and promotes it, then removes a voter (thesis §4.1, §4.2.1)", () => {
    const c = new Cluster({ seed: 4 });
    const leader = waitForLeader(c);
    proposeAndSettle(c, leader, "before");
    c.addMember("4");
    expect(c.node(leader).proposeConfChange({ type: "add-voter", nodeId: nodeId("4") }).ok).toBe(true);
    c.stabilize();
    expect(c.status(leader).config.voters).toEqual(["1", "2", "3", "4"]);
    expect(c.status("4").config.voters).toEqual(["1", "2", "3", "4"]);

    c.addMember("5");
    expect(c.node(leader).proposeConfChange({ type: "add-learner", nodeId: nodeId("5") }).ok).toBe(true);
    c.stabilize();
    expect(c.status(leader).progress?.find((p) => p.id === "5")).toMatchObject({ isLearner: true, match: c.status(leader).lastIndex });
    expect(c.node(leader).proposeConfChange({ type: "add-voter", nodeId: nodeId("5") }).ok).toBe(true);
    c.stabilize();
    expect(c.status("5").config).toEqual({ voters: ["1", "2", "3", "4", "5"], learners: [] });

    const victim = ["1", "2", "3"].find((id) => id !== leader) as string;
    expect(c.node(leader).proposeConfChange({ type: "remove-node", nodeId: nodeId(victim) }).ok).toBe(true);
    c.stabilize();
    c.crash(victim);
    // Four voters remain; two of them down still leaves no quorum, one down is fine.
    const another = ["1", "2", "3", "4", "5"].find((id) => id !== leader && id !== victim) as string;
    c.crash(another);
    proposeAndSettle(c, leader, "after");
    for (const id of ["1", "2", "3", "4", "5"].filter((x) => x !== victim && x !== another)) expect(c.appliedData(id)).toEqual(["before", "after"]);
  });

  it("removing the leader makes it step down, and the rest go on (thesis §4.2.2)", () => {
    const c = new Cluster({ seed: 9 });
    const leader = waitForLeader(c);
    expect(c.node(leader).proposeConfChange({ type: "remove-node", nodeId: nodeId(leader) }).ok).toBe(true);
    c.stabilize();
    expect(c.status(leader).state).toBe("follower");
    const next = waitForLeader(c);
    expect(next).not.toBe(leader);
    expect(c.status(next).config.voters).not.toContain(leader);
    proposeAndSettle(c, next, "x");
    expect(c.appliedData(next)).toEqual(["x"]);
  });

  it("transfers leadership to a lagging follower without losing entries (thesis §3.10)", () => {
    const c = new Cluster({ seed: 8 });
    const leader = waitForLeader(c);
    const target = ["1", "2", "3"].find((id) => id !== leader) as string;
    c.partition([target]);
    for (let k = 0; k < 5; k++) proposeAndSettle(c, leader, `e${k}`);
    c.heal();
    expect(c.node(leader).transferLeader(nodeId(target))).toEqual({ ok: true });
    c.stabilize();
    expect(c.leader()).toBe(target);
    expect(c.status(leader).state).toBe("follower");
    proposeAndSettle(c, target, "new");
    for (const id of ["1", "2", "3"]) expect(c.appliedData(id)).toEqual(["e0", "e1", "e2", "e3", "e4", "new"]);
  });

  it("serves linearizable reads on leader and follower only after leadership is confirmed (thesis §6.4)", () => {
    const c = new Cluster({ seed: 6 });
    const leader = waitForLeader(c);
    proposeAndSettle(c, leader, "a");
    const follower = ["1", "2", "3"].find((id) => id !== leader) as string;
    expect(c.node(follower).readIndex("r1").ok).toBe(true);
    c.stabilize();
    const [read] = c.member(follower).readStates;
    expect(read).toEqual({ index: c.status(leader).commit, context: "r1" });
    // A leader cut off from everyone cannot confirm a read.
    c.partition([leader]);
    c.node(leader).readIndex("r2");
    c.stabilize();
    expect(c.member(leader).readStates.map((r) => r.context)).not.toContain("r2");
  });
});
