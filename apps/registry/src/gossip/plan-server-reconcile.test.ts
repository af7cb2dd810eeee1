import { describe, expect, it } from "vitest";
import { DEFAULT_AUTOPILOT_CONFIG } from "./autopilot-config.ts";
import type { ReconcileMember } from "./plan-member-reconcile.ts";
import { planServerReconcile } from "./plan-server-reconcile.ts";
import type { RaftServerProgress, ServerReconcileInput } from "./plan-server-reconcile.ts";

function server(id: string, state: ReconcileMember["state"], tags: Record<string, string> = {}): ReconcileMember {
  return { name: id, address: `10.0.0.${id.slice(1)}:8301`, state, stateChangedMs: 0, tags: { role: "server", id, raft_addr: `10.0.0.${id.slice(1)}:8300`, dc: "dc1", ...tags } };
}

function voter(id: string, overrides: Partial<RaftServerProgress> = {}): RaftServerProgress {
  return { id, voter: true, matchIndex: 100, lastContactMs: 20, ...overrides };
}

const nonVoter = (id: string, overrides: Partial<RaftServerProgress> = {}): RaftServerProgress => voter(id, { voter: false, ...overrides });

function plan(partial: Partial<ServerReconcileInput>) {
  return planServerReconcile({
    members: [],
    raft: [],
    leaderId: "s1",
    lastIndex: 100,
    datacenter: "dc1",
    config: DEFAULT_AUTOPILOT_CONFIG,
    nowMs: 50_000,
    healthySinceMs: new Map(),
    ...partial,
  });
}

const three = [voter("s1"), voter("s2"), voter("s3")];
const threeAlive = [server("s1", "alive"), server("s2", "alive"), server("s3", "alive")];

describe("planServerReconcile", () => {
  it("adds an alive server member that is not in the Raft configuration as a non-voter, at its raft_addr", () => {
    const { changes } = plan({ members: [...threeAlive, server("s4", "alive")], raft: three });
    expect(changes).toEqual([{ type: "add-non-voter", id: "s4", raftAddress: "10.0.0.4:8300" }]);
  });

  it("changes nothing when every alive server is a healthy voter", () => {
    const result = plan({ members: threeAlive, raft: three });
    expect(result.changes).toEqual([]);
    expect(result.health.map((s) => [s.id, s.healthy, s.voter, s.leader])).toEqual([
      ["s1", true, true, true],
      ["s2", true, true, false],
      ["s3", true, true, false],
    ]);
    expect(result.failureTolerance).toBe(1);
  });

  it("ignores client agents, members without a Raft address, other datacenters and failed newcomers", () => {
    const client: ReconcileMember = { name: "web-1", address: "10.0.1.1:8301", state: "alive", stateChangedMs: 0, tags: { role: "client" } };
    const noRaft: ReconcileMember = { ...server("s5", "alive"), tags: { role: "server", id: "s5" } };
    const { changes } = plan({ members: [...threeAlive, client, noRaft, server("s6", "alive", { dc: "dc2" }), server("s7", "dead")], raft: three });
    expect(changes).toEqual([]);
  });

  it("promotes a non-voter only after it has been healthy for the stabilization time", () => {
    const members = [...threeAlive, server("s4", "alive")];
    const raft = [...three, nonVoter("s4")];
    const first = plan({ members, raft, nowMs: 10_000 });
    expect(first.changes).toEqual([]);
    expect(first.healthySinceMs.get("s4")).toBe(10_000);
    const early = plan({ members, raft, nowMs: 19_999, healthySinceMs: first.healthySinceMs });
    expect(early.changes).toEqual([]);
    const stable = plan({ members, raft, nowMs: 20_000, healthySinceMs: early.healthySinceMs });
    expect(stable.changes).toEqual([{ type: "promote", id: "s4" }]);
  });

  it("restarts the stabilization clock when a non-voter lags, goes quiet or is suspected", () => {
    const members = [...threeAlive, server("s4", "alive")];
    const since = new Map([["s4", 0]]);
    const lagging = plan({ members, raft: [...three, nonVoter("s4", { matchIndex: 100 - 251 })], healthySinceMs: since });
    expect(lagging.changes).toEqual([]);
    expect(lagging.healthySinceMs.has("s4")).toBe(false);
    const quiet = plan({ members, raft: [...three, nonVoter("s4", { lastContactMs: 201 })], healthySinceMs: since });
    expect(quiet.changes).toEqual([]);
    const suspect = plan({ members: [...threeAlive, server("s4", "suspect")], raft: [...three, nonVoter("s4")], healthySinceMs: since });
    expect(suspect.changes).toEqual([]);
    expect(suspect.health.find((s) => s.id === "s4")?.healthy).toBe(false);
  });

  it("removes a server that left gracefully, voter or not", () => {
    const { changes } = plan({ members: [...threeAlive, server("s4", "left"), server("s5", "left")], raft: [...three, voter("s4"), nonVoter("s5")] });
    expect(changes).toEqual([
      { type: "remove", id: "s4", reason: "left" },
      { type: "remove", id: "s5", reason: "left" },
    ]);
  });

  it("never removes the leader itself, even when its own member has left", () => {
    const { changes } = plan({ members: [server("s1", "left"), server("s2", "alive"), server("s3", "alive")], raft: three });
    expect(changes).toEqual([]);
  });

  it("removes a failed voter when the failed are a minority and the rest keep a quorum", () => {
    const members = [...threeAlive, server("s4", "dead")];
    const { changes } = plan({ members, raft: [...three, voter("s4", { lastContactMs: 9_000 })] });
    expect(changes).toEqual([{ type: "remove", id: "s4", reason: "failed" }]);
  });

  it("keeps a failed voter of three: removing it would affect half the servers' quorum margin", () => {
    const { changes } = plan({ members: [server("s1", "alive"), server("s2", "alive"), server("s3", "dead")], raft: three });
    expect(changes).toEqual([]);
  });

  it("removes no failed voter when too many failed at once (all or none), but failed non-voters always", () => {
    const members = [server("s1", "alive"), server("s2", "alive"), server("s3", "alive"), server("s4", "dead"), server("s5", "dead"), server("s6", "dead")];
    const raft = [...three, voter("s4"), voter("s5"), nonVoter("s6")];
    expect(plan({ members, raft }).changes).toEqual([{ type: "remove", id: "s6", reason: "failed" }]);
    // Five voters: one failed is removed (1 < 5/2), two are not (Consul removes only while fewer than half would go).
    const five = [...three, voter("s4"), voter("s5")];
    expect(plan({ members: [...members.slice(0, 3), server("s4", "dead"), server("s5", "alive")], raft: five }).changes).toEqual([{ type: "remove", id: "s4", reason: "failed" }]);
  });

  it("counts suspect voters against the quorum: no removal while the alive voters are not a majority", () => {
    const members = [server("s1", "alive"), server("s2", "suspect"), server("s3", "suspect"), server("s4", "dead"), server("s5", "alive")];
    const raft = [...three, voter("s4"), voter("s5")];
    expect(plan({ members, raft }).changes).toEqual([]);
  });

  it("respects MinQuorum and CleanupDeadServers=false", () => {
    const members = [...threeAlive, server("s4", "dead")];
    const raft = [...three, voter("s4")];
    expect(plan({ members, raft, config: { ...DEFAULT_AUTOPILOT_CONFIG, minQuorum: 4 } }).changes).toEqual([]);
    expect(plan({ members, raft, config: { ...DEFAULT_AUTOPILOT_CONFIG, cleanupDeadServers: false } }).changes).toEqual([]);
    // A server that left is removed either way: it asked to go.
    expect(plan({ members: [...threeAlive, server("s4", "left")], raft, config: { ...DEFAULT_AUTOPILOT_CONFIG, cleanupDeadServers: false } }).changes).toEqual([
      { type: "remove", id: "s4", reason: "left" },
    ]);
  });

  it("leaves Raft members that gossip does not know alone, and reports them unhealthy with serf status none", () => {
    const result = plan({ members: [server("s1", "alive")], raft: three });
    expect(result.changes).toEqual([]);
    expect(result.health.find((s) => s.id === "s2")).toMatchObject({ serfStatus: "none", healthy: false, name: "" });
    expect(result.failureTolerance).toBe(0);
  });
});
