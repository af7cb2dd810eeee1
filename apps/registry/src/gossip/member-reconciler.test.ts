// The reconcile loop over the real catalog state machine: a leader-shaped server whose writes apply
// to a RegistryState at once; the test flips leadership and membership and checks what is written.
import { describe, expect, it } from "vitest";
import type { RegistryCommand } from "../registry-contract.ts";
import { RegistryState } from "../state/registry-state.ts";
import { MemberReconciler } from "./member-reconciler.ts";
import type { ReconcileMember } from "./plan-member-reconcile.ts";

function fixture() {
  const state = new RegistryState();
  const written: RegistryCommand[] = [];
  let index = 0;
  const server = {
    isLeader: false,
    state,
    write: async (command: RegistryCommand) => {
      written.push(command);
      return { ...state.apply(++index, command, 0), index };
    },
  };
  let members: ReconcileMember[] = [];
  let now = 1_000;
  const reconciler = new MemberReconciler({ server, members: () => members, selfName: "s1", reconnectTimeoutMs: 60_000, intervalMs: 60_000, now: () => now });
  const serf = (node: string) => state.nodeChecks(node).find((c) => c.checkId === "serfHealth")?.status;
  return {
    state,
    written,
    server,
    reconciler,
    serf,
    setMembers: (next: ReconcileMember[]) => (members = next),
    advance: (ms: number) => (now += ms),
    at: () => now,
  };
}

const member = (name: string, state: ReconcileMember["state"], stateChangedMs = 0): ReconcileMember => ({ name, address: `127.0.0.1:${8300 + name.length}`, state, stateChangedMs, tags: { role: "server" } });

describe("MemberReconciler", () => {
  it("writes nothing on a follower, reconciles everything when it becomes leader", async () => {
    const f = fixture();
    f.setMembers([member("s1", "alive"), member("web-1", "alive")]);
    f.reconciler.trigger();
    await f.reconciler.settled();
    expect(f.written).toEqual([]);

    f.server.isLeader = true;
    f.reconciler.leadershipChanged();
    await f.reconciler.settled();
    expect([f.serf("s1"), f.serf("web-1")]).toEqual(["passing", "passing"]);
  });

  it("marks a failed member critical, deregisters it after the reconnect timeout, passes a returning one", async () => {
    const f = fixture();
    f.server.isLeader = true;
    f.setMembers([member("s1", "alive"), member("web-1", "alive")]);
    f.reconciler.leadershipChanged();
    await f.reconciler.settled();

    f.setMembers([member("s1", "alive"), member("web-1", "dead", f.at())]);
    f.reconciler.trigger();
    await f.reconciler.settled();
    expect(f.serf("web-1")).toBe("critical");

    f.setMembers([member("s1", "alive"), member("web-1", "alive")]);
    f.reconciler.trigger();
    await f.reconciler.settled();
    expect(f.serf("web-1")).toBe("passing");

    f.setMembers([member("s1", "alive"), member("web-1", "dead", f.at())]);
    f.reconciler.trigger();
    await f.reconciler.settled();
    f.advance(60_000);
    f.reconciler.trigger();
    await f.reconciler.settled();
    expect(f.state.nodes().map((n) => n.node)).toEqual(["s1"]);
  });

  it("coalesces triggers while a run is in flight and stops writing once it loses leadership", async () => {
    const f = fixture();
    f.server.isLeader = true;
    f.setMembers([member("s1", "alive"), member("a", "alive"), member("b", "alive")]);
    for (let i = 0; i < 5; i++) f.reconciler.trigger();
    await f.reconciler.settled();
    expect(f.written.length).toBe(3);

    f.server.isLeader = false;
    f.setMembers([member("s1", "alive"), member("a", "left"), member("b", "left")]);
    f.reconciler.leadershipChanged();
    await f.reconciler.settled();
    expect(f.written.length).toBe(3);
    await f.reconciler.stop();
  });
});
