// The gossip metrics on /metrics, read from real gossip cores driven on a fake clock: a member whose
// peer never answers counts probes, failed probes and a suspicion, then the failure; a packet
// sealed with a key it does not hold is dropped as unauthenticated; bytes and member states show.
import { randomBytes } from "node:crypto";
import { Keyring, Memberlist } from "@meshwork/gossip";
import type { GossipEvent, MemberRecord } from "@meshwork/gossip";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { aesGcmCipher } from "../gossip/aes-gcm-cipher.ts";
import { RegistryMetrics } from "./registry-metrics.ts";
import { GossipMetrics, flapWindowMs } from "./gossip-metrics.ts";

const record = (name: string, address: string): MemberRecord => ({ name, address, incarnation: 0, state: "alive", tags: { role: "client" }, ltime: 0 });

function core(name: string, address: string, key: Uint8Array, known: readonly MemberRecord[]): Memberlist {
  let seed = name.length;
  const random = (): number => ((seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647);
  return new Memberlist({
    name,
    address,
    tags: { role: "server" },
    nowMs: 0,
    random,
    settings: { probeIntervalMs: 200, probeTimeoutMs: 100, suspicionMult: 2 },
    keyring: new Keyring([key]),
    cipher: aesGcmCipher,
    knownMembers: known,
  });
}

/** The value of one sample line, e.g. `consul_memberlist_node_instances{node_state="alive"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("gossip metrics", () => {
  it("are absent until a gossip member is attached", async () => {
    const { body } = await new RegistryMetrics().render();
    expect(sample(body, 'consul_memberlist_node_instances{node_state="alive"}')).toBeUndefined();
    expect(sample(body, "consul_serf_member_failed")).toBe(0);
  });

  it("count probes, failed probes, suspicions, failures, drops of unauthenticated packets and bytes", async () => {
    const metrics = new RegistryMetrics();
    const key = randomBytes(32);
    const a = core("a", "127.0.0.1:1", key, [record("b", "127.0.0.1:2")]);
    metrics.attachGossip(a);
    const events: GossipEvent[] = [];
    // b never answers: a probes it, fails, suspects it and declares it dead after the suspicion timeout.
    for (let now = 0; now <= 30_000; now += 50) {
      a.tick(now);
      for (const event of a.ready().events) {
        events.push(event);
        metrics.observeGossipEvent(event);
      }
    }
    expect(events.map((e) => e.type)).toContain("member-failed");
    // A member with another key: its packets fail AES-GCM authentication at a.
    const stranger = core("c", "127.0.0.1:3", randomBytes(32), [record("a", "127.0.0.1:1")]);
    for (let now = 0; now <= 1_000; now += 50) stranger.tick(now);
    const packets = stranger.ready().packets.filter((p) => p.to === "127.0.0.1:1");
    expect(packets.length).toBeGreaterThan(0);
    for (const packet of packets) a.step(packet.bytes, "127.0.0.1:3");

    const { body } = await metrics.render();
    const stats = a.stats;
    expect(sample(body, 'consul_memberlist_node_instances{node_state="alive"}')).toBe(1);
    expect(sample(body, 'consul_memberlist_node_instances{node_state="dead"}')).toBe(1);
    expect(sample(body, 'consul_memberlist_node_instances{node_state="suspect"}')).toBe(0);
    expect(sample(body, "meshwork_registry_gossip_probes_total")).toBe(stats.probes);
    expect(stats.probes).toBeGreaterThan(1);
    expect(sample(body, "meshwork_registry_gossip_probes_failed_total")).toBe(stats.probesFailed);
    expect(stats.probesFailed).toBeGreaterThan(0);
    expect(sample(body, "consul_memberlist_msg_suspect")).toBe(1);
    expect(sample(body, "meshwork_registry_gossip_members_declared_dead_total")).toBe(1);
    expect(sample(body, "consul_serf_member_failed")).toBe(1);
    expect(sample(body, 'meshwork_registry_gossip_packets_dropped_total{reason="unauthenticated"}')).toBe(packets.length);
    expect(sample(body, 'meshwork_registry_gossip_packets_dropped_total{reason="malformed"}')).toBe(0);
    expect(sample(body, "consul_memberlist_udp_sent")).toBe(stats.bytesSent);
    expect(stats.bytesSent).toBeGreaterThan(0);
    expect(sample(body, "consul_memberlist_udp_received")).toBe(packets.reduce((sum, p) => sum + p.bytes.length, 0));
    expect(sample(body, "consul_memberlist_health_score")).toBe(a.healthScore);
    expect(body).toContain("# TYPE consul_memberlist_udp_sent counter");
  });

  it("counts joins, updates, leaves and a flap (back within the window after failing)", async () => {
    let now = 0;
    const metrics = new RegistryMetrics();
    const view = core("a", "127.0.0.1:1", randomBytes(32), [record("b", "127.0.0.1:2")]).member("b");
    if (view === undefined) throw new Error("b is a known member");
    // GossipMetrics reads the clock it is given (RegistryMetrics gives it Date.now), so drive it directly.
    const registry = new Registry();
    const gossip = new GossipMetrics(registry, () => now);
    const feed = (type: "member-joined" | "member-updated" | "member-left", at: number) => {
      now = at;
      gossip.observe({ type, member: view });
    };
    const fail = (at: number) => {
      now = at;
      gossip.observe({ type: "member-failed", member: view, from: "a" });
    };
    feed("member-joined", 0);
    feed("member-updated", 1);
    fail(1_000);
    feed("member-joined", 1_000 + flapWindowMs); // back in time: a flap
    fail(200_000);
    feed("member-joined", 200_001 + flapWindowMs); // too late: not a flap
    feed("member-left", 300_000);
    const body = await registry.metrics();
    expect(sample(body, "consul_serf_member_join")).toBe(3);
    expect(sample(body, "consul_serf_member_update")).toBe(1);
    expect(sample(body, "consul_serf_member_failed")).toBe(2);
    expect(sample(body, "consul_serf_member_flap")).toBe(1);
    expect(sample(body, "consul_serf_member_left")).toBe(1);
    // The registry's own exposition carries the same families.
    expect((await metrics.render()).body).toContain("# TYPE consul_serf_member_flap counter");
  });
});
