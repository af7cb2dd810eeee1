// Behaviour of the core in small seeded simulated clusters: join, failure detection with
// suspicion and refutation, graceful leave, dissemination, events and queries, encryption.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Keyring, encodeMessage, encodePacket } from "../src/index.ts";
import type { Message } from "../src/index.ts";
import { aesGcm } from "./aes-gcm.ts";
import { GossipSim } from "./gossip-sim.ts";
import type { SimEvent } from "./gossip-sim.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const packet = (...messages: Message[]) => encodePacket(messages.map((m) => encodeMessage(m)));
const eventsOf = (events: SimEvent[], type: string, name: string) =>
  events.filter((e) => e.event.type === type && "member" in e.event && e.event.member.name === name);

function joinedCluster(seed: number, count: number, options: Partial<ConstructorParameters<typeof GossipSim>[0]> = {}): GossipSim {
  const sim = new GossipSim({ seed, ...options });
  for (let i = 0; i < count; i++) sim.add(`n${i}`);
  for (let i = 1; i < count; i++) sim.act(`n${i}`, (core) => core.join(["n0"]));
  sim.runFor(20_000);
  return sim;
}

describe("Memberlist in a simulated cluster", () => {
  it("join() through one member converges every member's view (push/pull + gossip)", () => {
    const sim = joinedCluster(1, 8);
    for (const node of sim.nodes.values()) {
      expect(node.core.liveMembers).toBe(8);
      expect(node.core.members().every((m) => m.state === "alive")).toBe(true);
    }
    expect(eventsOf(sim.events, "member-joined", "n7").length).toBe(7);
  });

  it("a crashed member is suspected, then declared dead by everyone (SWIM §4.2)", () => {
    const sim = joinedCluster(2, 8);
    sim.crash("n3");
    const crashedAt = sim.nowMs;
    sim.runFor(60_000);
    expect(eventsOf(sim.events, "member-suspected", "n3").some((e) => e.atMs >= crashedAt)).toBe(true);
    for (const node of sim.nodes.values()) {
      if (node.name !== "n3") expect(node.core.member("n3")?.state).toBe("dead");
    }
    expect(eventsOf(sim.events, "member-failed", "n3").length).toBe(7);
  });

  it("a live member wrongly suspected refutes with a higher incarnation and is not declared dead", () => {
    const sim = joinedCluster(3, 5);
    sim.act("n1", (core) => core.step(packet({ type: "suspect", incarnation: 0, node: "n2", from: "n1" }), "n1"));
    expect(sim.core("n1").member("n2")?.state).toBe("suspect");
    sim.runFor(60_000);
    expect(sim.core("n2").stats.refutations).toBeGreaterThanOrEqual(1);
    for (const node of sim.nodes.values()) expect(node.core.member("n2")?.state).toBe("alive");
    expect(eventsOf(sim.events, "member-failed", "n2")).toEqual([]);
  });

  it("a member told it is dead while alive refutes and rejoins everyone's view", () => {
    const sim = joinedCluster(4, 5);
    sim.act("n1", (core) => core.step(packet({ type: "dead", incarnation: 0, node: "n2", from: "n1", ltime: 1 }), "n1"));
    expect(sim.core("n1").member("n2")?.state).toBe("dead");
    sim.runFor(30_000);
    for (const node of sim.nodes.values()) expect(node.core.member("n2")?.state).toBe("alive");
  });

  it("leave() is disseminated as left, not failed", () => {
    const sim = joinedCluster(5, 6);
    sim.act("n4", (core) => core.leave());
    sim.runFor(5_000);
    expect(sim.core("n4").pendingBroadcasts).toBe(0);
    sim.crash("n4");
    sim.runFor(60_000);
    for (const node of sim.nodes.values()) if (node.name !== "n4") expect(node.core.member("n4")?.state).toBe("left");
    expect(eventsOf(sim.events, "member-left", "n4").length).toBe(5);
    expect(eventsOf(sim.events, "member-failed", "n4")).toEqual([]);
  });

  it("setTags() reaches everyone as member-updated with a new incarnation", () => {
    const sim = joinedCluster(6, 5);
    sim.act("n2", (core) => core.setTags({ role: "server" }));
    sim.runFor(10_000);
    for (const node of sim.nodes.values()) expect(node.core.member("n2")?.tags).toEqual({ role: "server" });
    expect(eventsOf(sim.events, "member-updated", "n2").length).toBe(4);
  });

  it("a user event reaches every member exactly once, ordered by its Lamport time", () => {
    const sim = joinedCluster(7, 10);
    sim.act("n3", (core) => core.userEvent("deploy", bytes("v1")));
    sim.act("n5", (core) => core.userEvent("deploy", bytes("v2")));
    sim.runFor(10_000);
    const received = sim.events.filter((e) => e.event.type === "user-event-received");
    expect(received.length).toBe(20);
    for (const node of sim.nodes.values()) expect(node.core.eventClock.time).toBeGreaterThanOrEqual(1);
    // A replayed event (same ltime and name) is not delivered again.
    const first = received[0]?.event;
    if (first?.type !== "user-event-received") throw new Error("no event");
    sim.act("n0", (core) => core.step(packet({ type: "user-event", ltime: first.ltime, name: first.name, payload: first.payload }), "n9"));
    sim.runFor(5_000);
    expect(sim.events.filter((e) => e.event.type === "user-event-received").length).toBe(20);
  });

  it("a query collects one response per member and completes at its timeout", () => {
    const sim = joinedCluster(8, 6);
    sim.onEvent = (e, core) => {
      if (e.event.type === "query-received") core.respond(e.event.query, bytes(`ok from ${e.at}`));
    };
    sim.act("n1", (core) => core.query("ping", bytes(""), { timeoutMs: 3_000 }));
    sim.runFor(5_000);
    const completed = sim.events.find((e) => e.event.type === "query-completed");
    if (completed?.event.type !== "query-completed") throw new Error("query did not complete");
    expect(completed.at).toBe("n1");
    expect(completed.event.responses.map((r) => r.from).sort()).toEqual(["n0", "n1", "n2", "n3", "n4", "n5"]);
  });

  it("with a keyring, the cluster works and a member with another key is shut out and counted", () => {
    const key = randomBytes(32);
    const sim = joinedCluster(9, 4, { crypto: { keyring: () => new Keyring([key]), cipher: aesGcm } });
    for (const node of sim.nodes.values()) expect(node.core.liveMembers).toBe(4);
    const stranger = new GossipSim({ seed: 1, crypto: { keyring: () => new Keyring([randomBytes(32)]), cipher: aesGcm } }).add("x");
    const out = stranger.ready().packets;
    stranger.join(["n0"]);
    const request = stranger.ready().streams[0];
    if (request === undefined) throw new Error("no join stream");
    expect(sim.core("n0").receiveStream(request.bytes, "x")).toBeUndefined();
    expect(sim.core("n0").stats.dropped.unauthenticated).toBe(1);
    expect(out).toEqual([]);
  });

  it("a replayed encrypted packet is dropped and counted", () => {
    const key = randomBytes(16);
    const sim = new GossipSim({ seed: 10, crypto: { keyring: () => new Keyring([key]), cipher: aesGcm } });
    const a = sim.add("a");
    const b = sim.add("b");
    a.join(["b"]);
    const request = a.ready().streams[0];
    if (request === undefined) throw new Error("no join stream");
    expect(b.receiveStream(request.bytes, "a")).toBeDefined();
    expect(b.receiveStream(request.bytes, "a")).toBeUndefined();
    expect(b.stats.dropped.replayed).toBe(1);
  });

  it("garbage, truncated and oversized datagrams are dropped and counted, never thrown", () => {
    const sim = joinedCluster(11, 3);
    const core = sim.core("n0");
    const good = packet({ type: "ping", seq: 1, target: "n0", source: "n1" });
    core.step(Uint8Array.from([1, 1, 1, 99]), "n1");
    core.step(good.subarray(0, good.length - 2), "n1");
    core.step(new Uint8Array(70_000), "n1");
    core.step(Uint8Array.from([7, 1, 1, 3, 1]), "n1");
    expect(core.stats.dropped).toMatchObject({ truncated: 1, oversized: 1, "unsupported-version": 1, malformed: 1 });
  });

  it("a partition makes each side declare the other dead; after it heals, reconnect merges them again", () => {
    const sim = joinedCluster(12, 10);
    const left = ["n0", "n1", "n2", "n3", "n4"];
    sim.partition(left);
    sim.runFor(90_000);
    expect(sim.core("n0").member("n9")?.state).toBe("dead");
    expect(sim.core("n9").member("n0")?.state).toBe("dead");
    sim.heal();
    sim.runFor(120_000);
    for (const node of sim.nodes.values()) {
      expect(node.core.members().filter((m) => m.state === "alive").map((m) => m.name).sort()).toEqual(
        ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"],
      );
    }
  });
});
