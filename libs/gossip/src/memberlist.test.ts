// The core driven by hand, one input at a time: the SWIM probe cycle, Lifeguard's health
// multiplier, nacks, buddy system and dynamic suspicion timeouts, and the retransmit limit.
import { describe, expect, it } from "vitest";
import { decodePacket, encodeMessage, encodePacket } from "./codec.ts";
import { Memberlist } from "./memberlist.ts";
import type { MemberRecord, Message } from "./message.ts";

const others = ["b", "c", "d", "e", "f", "g", "h", "i", "j"];
const record = (name: string): MemberRecord => ({ name, address: name, incarnation: 0, state: "alive", tags: {}, ltime: 1 });
const packet = (...messages: Message[]) => encodePacket(messages.map((m) => encodeMessage(m)));

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** memberlist's DefaultLANConfig timings (not our defaults), so the figures below are memberlist's. */
const lan = { probeIntervalMs: 1_000, probeTimeoutMs: 500, indirectChecks: 3, suspicionMult: 4, suspicionMaxTimeoutMult: 6, suspicionConfirmations: 2, gossipIntervalMs: 200 };

function node(members = others, settings = {}): Memberlist {
  return new Memberlist({ name: "a", address: "a", nowMs: 0, random: seeded(7), knownMembers: members.map(record), settings: { pushPullIntervalMs: 0, ...lan, ...settings } });
}

function sent(core: Memberlist): { to: string; messages: Message[] }[] {
  return core.ready().packets.map((p) => {
    const decoded = decodePacket(p.bytes);
    if (!decoded.ok) throw new Error(decoded.reason);
    return { to: p.to, messages: decoded.value };
  });
}

/** Ticks in 10 ms steps until a ping leaves; returns it and the time. */
function nextPing(core: Memberlist, from: number): { now: number; to: string; seq: number; messages: Message[] } {
  for (let now = from; now < from + 20_000; now += 10) {
    core.tick(now);
    for (const p of sent(core)) {
      const ping = p.messages.find((m) => m.type === "ping");
      if (ping?.type === "ping") return { now, to: p.to, seq: ping.seq, messages: p.messages };
    }
  }
  throw new Error("no ping");
}

describe("Memberlist probe cycle (SWIM §3.1, Lifeguard §IV)", () => {
  it("ping, then k indirect probes after the ack timeout, then suspicion at the end of the period", () => {
    const a = node();
    const ping = nextPing(a, 0);
    a.tick(ping.now + 499);
    expect(sent(a).filter((p) => p.messages[0]?.type === "indirect-ping")).toEqual([]);
    a.tick(ping.now + 500);
    const indirect = sent(a).filter((p) => p.messages[0]?.type === "indirect-ping");
    expect(indirect.length).toBe(3);
    expect(indirect.every((p) => p.to !== ping.to)).toBe(true);
    a.tick(ping.now + 1_000);
    const events = a.ready().events;
    expect(events).toContainEqual(expect.objectContaining({ type: "member-suspected", from: "a" }));
    expect(a.member(ping.to)?.state).toBe("suspect");
    expect(a.healthScore).toBe(3); // no nacks from 3 helpers: the trouble is probably here
  });

  it("an ack ends the probe and lowers the health score; nacks from helpers spare it", () => {
    const a = node();
    const ping = nextPing(a, 0);
    a.tick(ping.now + 500);
    const helpers = sent(a).filter((p) => p.messages[0]?.type === "indirect-ping");
    for (const h of helpers) a.step(packet({ type: "nack", seq: ping.seq }), h.to);
    a.tick(ping.now + 1_000);
    expect(a.healthScore).toBe(0);
    const next = nextPing(a, ping.now + 1_000);
    a.step(packet({ type: "ack", seq: next.seq }), next.to);
    a.tick(next.now + 1_000);
    expect(a.member(next.to)?.state).toBe("alive");
  });

  it("the health multiplier stretches the probe period and ack timeout (Lifeguard §IV-A)", () => {
    const a = node();
    const first = nextPing(a, 0);
    a.tick(first.now + 1_000); // fails: score 3 (no nacks expected yet: indirect at +500 was sent)
    expect(a.healthScore).toBe(3);
    const second = nextPing(a, first.now + 1_000);
    expect(second.now - (first.now + 1_000)).toBeLessThanOrEqual(10);
    a.tick(second.now + 1_999);
    expect(sent(a).some((p) => p.messages[0]?.type === "indirect-ping")).toBe(false); // timeout is 4 × 500 ms
    a.tick(second.now + 2_000);
    expect(sent(a).some((p) => p.messages[0]?.type === "indirect-ping")).toBe(true);
  });

  it("relays an indirect probe, returns the ack to the origin, or a nack on timeout", () => {
    const a = node();
    a.step(packet({ type: "indirect-ping", seq: 42, target: "c", targetAddress: "c", source: "b", sourceAddress: "b" }), "b");
    const [relayed] = sent(a);
    expect(relayed?.to).toBe("c");
    const relayedPing = relayed?.messages[0];
    if (relayedPing?.type !== "ping") throw new Error("no relayed ping");
    a.step(packet({ type: "ack", seq: relayedPing.seq }), "c");
    expect(sent(a).map((p) => [p.to, p.messages[0]])).toEqual([["b", { type: "ack", seq: 42 }]]);
    a.step(packet({ type: "indirect-ping", seq: 43, target: "d", targetAddress: "d", source: "b", sourceAddress: "b" }), "b");
    sent(a);
    a.tick(500);
    expect(sent(a).map((p) => [p.to, p.messages[0]])).toContainEqual(["b", { type: "nack", seq: 43 }]);
  });

  it("a probe of a suspect carries the suspicion to it (Lifeguard buddy system)", () => {
    const a = node(["b"]);
    a.step(packet({ type: "suspect", incarnation: 0, node: "b", from: "c" }), "c");
    const ping = nextPing(a, 0);
    expect(ping.to).toBe("b");
    expect(ping.messages).toContainEqual({ type: "suspect", incarnation: 0, node: "b", from: "a" });
  });

  it("answers a ping only if it is the intended target", () => {
    const a = node();
    a.step(packet({ type: "ping", seq: 1, target: "someone-else", source: "b" }), "b");
    expect(sent(a)).toEqual([]);
    a.step(packet({ type: "ping", seq: 2, target: "a", source: "b" }), "b");
    expect(sent(a)[0]?.messages[0]).toEqual({ type: "ack", seq: 2 });
  });
});

describe("Memberlist suspicion (SWIM §4.2, Lifeguard §IV-B)", () => {
  const deadAt = (confirmers: string[], lifeguard = true, settings = {}, members = others): number => {
    const a = node(members, { lifeguard, ...settings });
    a.step(packet({ type: "suspect", incarnation: 0, node: "j", from: "b" }), "b");
    for (const from of confirmers) a.step(packet({ type: "suspect", incarnation: 0, node: "j", from }), from);
    for (let now = 0; now < 100_000; now += 100) {
      a.tick(now);
      if (a.member("j")?.state === "dead") return now;
      // keep "a"'s own probes of j from confirming: ack everything it sends
      for (const p of sent(a)) {
        const ping = p.messages.find((m) => m.type === "ping");
        if (ping?.type === "ping") a.step(packet({ type: "ack", seq: ping.seq }), p.to);
      }
    }
    throw new Error("never dead");
  };

  it("waits the maximum without confirmations and the minimum with k of them", () => {
    // n = 10: min = 4 · max(1, log10 10) · 1 s = 4 s; max = 6 · min = 24 s; k = suspicionMult − 2 = 2.
    expect(deadAt([])).toBe(24_000);
    expect(deadAt(["c"])).toBe(11_400); // 24 − log(2)/log(3)·20 = 11.38 s
    expect(deadAt(["c", "d"])).toBe(4_000);
    expect(deadAt(["c", "c", "b"])).toBe(11_400); // repeats and the first suspecter do not count
  });

  it("K confirmations is its own setting (memberlist ties it to suspicionMult − 2)", () => {
    // min = 2 · 1 · 1 s = 2 s, max = 12 s; with K = 3 one confirmation gives 12 − log(2)/log(4) · 10 = 7 s.
    expect(deadAt(["c"], true, { suspicionMult: 2, suspicionConfirmations: 3 })).toBe(7_000);
    expect(deadAt(["c", "d", "e"], true, { suspicionMult: 2, suspicionConfirmations: 3 })).toBe(2_000);
    expect(deadAt([], true, { suspicionMult: 2, suspicionConfirmations: 0 })).toBe(2_000);
  });

  it("in a pool too small for K confirmations it waits for as many as there can be", () => {
    // a, j and c: only c can confirm a suspicion of j. min = 4 s, max = 24 s.
    expect(deadAt([], true, { suspicionConfirmations: 2 }, ["c", "j"])).toBe(24_000);
    expect(deadAt(["c"], true, { suspicionConfirmations: 2 }, ["c", "j"])).toBe(4_000);
    // a and j: nobody can confirm, the minimum applies at once.
    expect(deadAt([], true, {}, ["j"])).toBe(4_000);
  });

  it("without Lifeguard the timeout is fixed at the minimum", () => {
    expect(deadAt([], false)).toBe(4_000);
  });

  it("a lone suspicion asks the suspect directly at the minimum timeout; its refutation on the ack clears it", () => {
    const a = node(others, { gossipIntervalMs: 60_000 }); // no gossip rounds: only what a sends itself
    a.step(packet({ type: "suspect", incarnation: 0, node: "j", from: "b" }), "b");
    const toJ = (from: number, to: number) => {
      const out: Message[][] = [];
      for (let now = from; now <= to; now += 100) {
        a.tick(now);
        for (const p of sent(a)) {
          if (p.to !== "j") continue;
          out.push(p.messages);
          // j is alive: it acks a's own probes so they do not confirm the suspicion
          const ping = p.messages[0];
          if (ping?.type === "ping" && p.messages.length === 1) a.step(packet({ type: "ack", seq: ping.seq }), "j");
        }
      }
      return out.filter((m) => m.some((x) => x.type === "suspect" && x.node === "j"));
    };
    // min = 4 s: nothing before it (a's own probe of j, if any, carries the suspicion too: the buddy system)
    const beforeMin = toJ(0, 3_900);
    const checks = toJ(4_000, 4_000);
    expect(checks).toHaveLength(1);
    // The suspicion before the ping: j handles it (queues its refutation) before it acks.
    expect(checks[0]?.slice(0, 2)).toEqual([{ type: "suspect", incarnation: 0, node: "j", from: "a" }, expect.objectContaining({ type: "ping", target: "j" })]);
    expect(beforeMin.every((m) => m[0]?.type === "suspect" && m[1]?.type === "ping")).toBe(true);
    const ping = checks[0]?.[1];
    if (ping?.type !== "ping") throw new Error("a ping");
    a.step(packet({ type: "ack", seq: ping.seq }, { type: "alive", member: { ...record("j"), incarnation: 1 } }), "j");
    a.tick(60_000);
    expect(a.member("j")).toMatchObject({ state: "alive", incarnation: 1 });
  });

  it("a refutation (alive with a higher incarnation) cancels the suspicion", () => {
    const a = node();
    a.step(packet({ type: "suspect", incarnation: 0, node: "j", from: "b" }), "b");
    a.step(packet({ type: "alive", member: { ...record("j"), incarnation: 1 } }), "j");
    a.tick(60_000);
    expect(a.member("j")).toMatchObject({ state: "alive", incarnation: 1 });
    expect(a.ready().events.map((e) => e.type)).toEqual(["member-suspected"]);
  });

  it("suspected itself, it refutes with a higher incarnation and counts it against its health", () => {
    const a = node();
    a.step(packet({ type: "suspect", incarnation: 3, node: "a", from: "b" }), "b");
    expect(a.member("a")).toMatchObject({ state: "alive", incarnation: 4 });
    expect(a.healthScore).toBe(1);
    expect(a.stats.refutations).toBe(1);
  });
});

describe("Memberlist dissemination (SWIM §4.1)", () => {
  it("piggybacks an update at most retransmitMult · ceil(log10(n+1)) times", () => {
    const a = node(others, { gossipNodes: 1 }); // n = 10 → 4 · 2 = 8
    a.ready();
    a.step(packet({ type: "alive", member: { ...record("k") } }), "k"); // a new member: one update to spread
    let carried = 0;
    for (let now = 0; now < 30_000; now += 50) {
      a.tick(now);
      for (const p of sent(a)) {
        carried += p.messages.filter((m) => m.type === "alive" && m.member.name === "k").length;
        if (p.messages[0]?.type === "ping") a.step(packet({ type: "ack", seq: p.messages[0].seq }), p.to);
      }
    }
    expect(carried).toBe(8);
  });
});

describe("Memberlist push/pull digests", () => {
  const make = (name: string, known: string[]) =>
    new Memberlist({ name, address: name, nowMs: 0, random: seeded(name.charCodeAt(0)), knownMembers: known.map(record), settings: { ...lan, pushPullIntervalMs: 1_000 } });

  /** Ticks `from` until it opens a push/pull stream to `to`; returns the request bytes. */
  const periodicPushPull = (from: Memberlist, to: string): Uint8Array => {
    for (let now = 0; now < 60_000; now += 100) {
      from.tick(now);
      const stream = from.ready().streams.find((s) => s.to === to);
      if (stream !== undefined) return stream.bytes;
    }
    throw new Error("no push/pull");
  };

  it("equal views exchange only digests; different views exchange full state both ways", () => {
    const a = make("a", ["b"]);
    const b = make("b", ["a"]);
    const reply = b.receiveStream(periodicPushPull(a, "b"), "a");
    expect(b.stats.pushPullsInSync).toBe(1);
    expect(reply !== undefined && reply.length < 40).toBe(true);

    const c = make("c", ["a", "x"]); // knows x, which a does not
    const answer = a.receiveStream(periodicPushPull(c, "a"), "c");
    if (answer === undefined) throw new Error("no answer");
    expect(a.member("x")).toBeUndefined(); // a digest carries no members
    c.receiveStream(answer, "a"); // a's full state, flagged wantsState: c follows up with its own
    const followUp = c.ready().streams.find((s) => s.to === "a");
    if (followUp === undefined) throw new Error("no follow-up");
    a.receiveStream(followUp.bytes, "c");
    expect(a.member("x")?.state).toBe("alive");
  });
});
