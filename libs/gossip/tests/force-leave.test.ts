// force-leave (serf RemoveFailedNode, Consul's `force-leave [-prune]`) in small seeded simulated
// clusters: a failed member becomes left everywhere, with prune it is forgotten everywhere, an alive
// member is not touched, and the leave intent survives the wire.
import { describe, expect, it } from "vitest";
import { DEFAULT_CODEC_LIMITS, decodePacket, encodeMessage, encodePacket } from "../src/index.ts";
import type { Message } from "../src/index.ts";
import { GossipSim } from "./gossip-sim.ts";
import type { SimEvent } from "./gossip-sim.ts";

const eventsOf = (events: SimEvent[], type: string, name: string) =>
  events.filter((e) => e.event.type === type && "member" in e.event && e.event.member.name === name);

function joinedCluster(seed: number, count: number): GossipSim {
  const sim = new GossipSim({ seed });
  for (let i = 0; i < count; i++) sim.add(`n${i}`);
  for (let i = 1; i < count; i++) sim.act(`n${i}`, (core) => core.join(["n0"]));
  sim.runFor(20_000);
  return sim;
}

/** A cluster where `victim` crashed and every other member has declared it dead. */
function withFailedMember(seed: number, count: number, victim: string): GossipSim {
  const sim = joinedCluster(seed, count);
  sim.crash(victim);
  sim.runFor(60_000);
  for (const node of sim.nodes.values()) if (node.name !== victim) expect(node.core.member(victim)?.state).toBe("dead");
  return sim;
}

describe("Memberlist.forceLeave", () => {
  it("marks a failed member left on every member (serf leave intent), once each", () => {
    const sim = withFailedMember(11, 6, "n4");
    const before = sim.events.length;
    sim.act("n1", (core) => expect(core.forceLeave("n4")).toEqual({ ok: true, state: "left", pruned: false }));
    sim.runFor(10_000);
    for (const node of sim.nodes.values()) if (node.name !== "n4") expect(node.core.member("n4")?.state).toBe("left");
    expect(eventsOf(sim.events.slice(before), "member-left", "n4").map((e) => e.at).sort()).toEqual(["n0", "n1", "n2", "n3", "n5"]);
    // Anti-entropy does not bring the failed state back: push/pull carries "left" now.
    sim.runFor(120_000);
    for (const node of sim.nodes.values()) if (node.name !== "n4") expect(node.core.member("n4")?.state).toBe("left");
  });

  it("with prune forgets the member on every member at once", () => {
    const sim = withFailedMember(12, 5, "n2");
    const before = sim.events.length;
    sim.act("n0", (core) => expect(core.forceLeave("n2", { prune: true })).toEqual({ ok: true, state: "left", pruned: true }));
    sim.runFor(10_000);
    for (const node of sim.nodes.values()) {
      if (node.name === "n2") continue;
      expect(node.core.member("n2")).toBeUndefined();
      expect(node.core.members().map((m) => m.name)).not.toContain("n2");
    }
    expect(eventsOf(sim.events.slice(before), "member-reaped", "n2")).toHaveLength(4);
  });

  it("prunes a member that already left gracefully", () => {
    const sim = joinedCluster(13, 4);
    sim.act("n3", (core) => core.leave());
    sim.runFor(5_000);
    sim.crash("n3");
    expect(sim.core("n0").member("n3")?.state).toBe("left");
    sim.act("n0", (core) => core.forceLeave("n3", { prune: true }));
    sim.runFor(10_000);
    for (const name of ["n0", "n1", "n2"]) expect(sim.core(name).member("n3")).toBeUndefined();
  });

  it("leaves an alive member alive everywhere (receivers ignore the intent, the member refutes)", () => {
    const sim = joinedCluster(14, 5);
    const before = sim.events.length;
    sim.act("n0", (core) => expect(core.forceLeave("n3")).toEqual({ ok: true, state: "alive", pruned: false }));
    sim.runFor(30_000);
    for (const node of sim.nodes.values()) expect(node.core.member("n3")?.state).toBe("alive");
    expect(eventsOf(sim.events.slice(before), "member-left", "n3")).toEqual([]);
  });

  it("a member that receives an intent about itself refutes it", () => {
    const sim = joinedCluster(15, 3);
    const incarnation = sim.core("n2").member("n2")?.incarnation ?? -1;
    const intent: Message = { type: "leave-intent", node: "n2", incarnation, ltime: 1, prune: false, from: "n0" };
    sim.act("n2", (core) => core.step(encodePacket([encodeMessage(intent)]), "n0"));
    expect(sim.core("n2").member("n2")?.incarnation).toBeGreaterThan(incarnation);
    expect(sim.core("n2").stats.refutations).toBe(1);
  });

  it("refuses this member itself and an unknown one", () => {
    const sim = joinedCluster(16, 2);
    expect(sim.core("n0").forceLeave("n0")).toEqual({ ok: false, reason: "self" });
    expect(sim.core("n0").forceLeave("nobody")).toEqual({ ok: false, reason: "unknown-member" });
  });

  it("a failed member that comes back after a force-leave rejoins", () => {
    const sim = withFailedMember(17, 4, "n3");
    sim.act("n0", (core) => core.forceLeave("n3"));
    sim.runFor(10_000);
    expect(sim.core("n1").member("n3")?.state).toBe("left");
    sim.nodes.delete("n3");
    sim.add("n3");
    sim.act("n3", (core) => core.join(["n0"]));
    sim.runFor(30_000);
    for (const node of sim.nodes.values()) expect(node.core.member("n3")?.state).toBe("alive");
  });

  it("encodes and decodes the leave intent, and rejects a bad prune flag", () => {
    const intent: Message = { type: "leave-intent", node: "n7", incarnation: 3, ltime: 42, prune: true, from: "n1" };
    const bytes = encodePacket([encodeMessage(intent)]);
    expect(decodePacket(bytes, DEFAULT_CODEC_LIMITS)).toEqual({ ok: true, value: [intent] });
    const flagAt = bytes.length - 1 - 1 - "n1".length; // [.. prune][len "n1"]["n1"]
    const bad = Uint8Array.from(bytes);
    bad[flagAt] = 2;
    expect(decodePacket(bad, DEFAULT_CODEC_LIMITS)).toEqual({ ok: false, reason: "malformed" });
  });
});

// serf's recentIntents: a member pruned by force-leave is remembered for RecentIntentTimeout (5 min),
// so stale state from a member that missed the intent does not bring it back.
describe("recent leave intents", () => {
  /** n3 failed and was pruned while n4 was cut off; n4 still holds n3 as dead when it rejoins the others. */
  function prunedWhileOneMissedIt(seed: number): GossipSim {
    const sim = withFailedMember(seed, 5, "n3");
    sim.partition(["n4"]);
    sim.act("n0", (core) => core.forceLeave("n3", { prune: true }));
    sim.runFor(10_000);
    for (const name of ["n0", "n1", "n2"]) expect(sim.core(name).member("n3")).toBeUndefined();
    expect(sim.core("n4").member("n3")?.state).toBe("dead");
    sim.heal();
    return sim;
  }

  it("stale state pushed by a member that missed the force-leave does not resurrect the pruned member", () => {
    const sim = prunedWhileOneMissedIt(21);
    const before = sim.events.length;
    sim.runFor(120_000); // several push/pull rounds between n4 and the others
    for (const name of ["n0", "n1", "n2"]) expect(sim.core(name).member("n3")).toBeUndefined();
    const after = sim.events.slice(before).filter((e) => e.at !== "n4");
    expect(eventsOf(after, "member-joined", "n3")).toEqual([]);
    expect(eventsOf(after, "member-suspected", "n3")).toEqual([]);
    expect(eventsOf(after, "member-failed", "n3")).toEqual([]);
  });

  it("a stale alive message about the pruned member is ignored", () => {
    const sim = prunedWhileOneMissedIt(22);
    const stale: Message = { type: "alive", member: { name: "n3", address: "n3", incarnation: 0, state: "alive", tags: {}, ltime: 1 } };
    sim.act("n1", (core) => core.step(encodePacket([encodeMessage(stale)]), "n4"));
    expect(sim.core("n1").member("n3")).toBeUndefined();
  });

  it("the pruned member restarted at the same address refutes the intent and rejoins", () => {
    const sim = prunedWhileOneMissedIt(23);
    sim.nodes.delete("n3");
    sim.add("n3");
    sim.act("n3", (core) => core.join(["n0"]));
    sim.runFor(30_000);
    for (const node of sim.nodes.values()) expect(node.core.member("n3")?.state).toBe("alive");
    expect(sim.core("n3").member("n3")?.incarnation).toBeGreaterThan(0);
  });

  it("forgets the intent after five minutes, so old state is accepted again", () => {
    const sim = prunedWhileOneMissedIt(24);
    sim.crash("n4"); // no stale pushes: only the injected messages below
    const stale: Message = { type: "alive", member: { name: "n3", address: "n3", incarnation: 0, state: "alive", tags: {}, ltime: 1 } };
    sim.runFor(4 * 60_000);
    sim.act("n1", (core) => core.step(encodePacket([encodeMessage(stale)]), "n2"));
    expect(sim.core("n1").member("n3")).toBeUndefined();
    sim.runFor(60_000 + 31_000); // past RecentIntentTimeout and the next sweep
    sim.act("n1", (core) => core.step(encodePacket([encodeMessage(stale)]), "n2"));
    expect(sim.core("n1").member("n3")?.state).toBe("alive");
  });
});
