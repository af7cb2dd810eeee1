// Prometheus metrics of this process's gossip member, named after Consul's where Consul has the
// metric (memberlist's `consul_memberlist_*`, serf's `consul_serf_member_*`, exported by Consul
// without a `_total` suffix) so existing dashboards and alerts work; the rest under
// `meshwork_registry_gossip_*`. Counters are read from the core's cumulative stats at scrape time;
// serf's member counters count the membership events as they happen.
import type { GossipEvent, GossipStats, MemberView } from "@meshwork/gossip";
import { Counter, Gauge, type Registry } from "prom-client";

/** What the metrics read from the gossip core at scrape time (@meshwork/gossip's Memberlist has it). */
export interface GossipView {
  readonly stats: Readonly<GossipStats>;
  readonly healthScore: number;
  members(): readonly Pick<MemberView, "name" | "state">[];
}

/** serf's FlapTimeout: a member that comes back this soon after failing counts as a flap. */
export const flapWindowMs = 60_000;

const memberStates = ["alive", "suspect", "dead", "left"] as const;

/** The (label-less or labelled) counters whose value is a cumulative stat of the core. */
function statCounter(registers: Registry[], name: string, help: string, read: (stats: Readonly<GossipStats>) => number, view: () => GossipView | undefined): Counter {
  return new Counter({
    name,
    help,
    registers,
    collect() {
      const current = view();
      if (current === undefined) return;
      this.reset();
      this.inc(read(current.stats));
    },
  });
}

export class GossipMetrics {
  private view: GossipView | undefined;
  private readonly memberEvents: Record<"join" | "update" | "failed" | "left" | "flap", Counter>;
  private readonly failedAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(registry: Registry, now: () => number = Date.now) {
    this.now = now;
    const registers = [registry];
    const currentView = (): GossipView | undefined => this.view;
    new Gauge({
      name: "consul_memberlist_node_instances",
      help: "Gossip members this member knows, by state (alive, suspect, dead = failed, left), itself included (memberlist.node.instances).",
      labelNames: ["node_state"],
      registers,
      collect() {
        const view = currentView();
        if (view === undefined) return;
        const counts = new Map<string, number>(memberStates.map((state) => [state, 0]));
        for (const member of view.members()) counts.set(member.state, (counts.get(member.state) ?? 0) + 1);
        for (const [state, count] of counts) this.set({ node_state: state }, count);
      },
    });
    new Gauge({
      name: "consul_memberlist_health_score",
      help: "Lifeguard local health multiplier: 0 healthy; higher means this member slowed its probing because it misses acks or nacks (memberlist.health.score).",
      registers,
      collect() {
        const view = currentView();
        if (view !== undefined) this.set(view.healthScore);
      },
    });
    const counter = (name: string, help: string, read: (stats: Readonly<GossipStats>) => number): void => void statCounter(registers, name, help, read, currentView);
    counter("consul_memberlist_udp_sent", "Bytes of gossip datagrams sent, envelopes included (memberlist.udp.sent).", (s) => s.bytesSent);
    counter("consul_memberlist_udp_received", "Bytes of gossip datagrams received, dropped ones included (memberlist.udp.received).", (s) => s.bytesReceived);
    counter("consul_memberlist_tcp_sent", "Bytes sent on push/pull and join streams (memberlist.tcp.sent).", (s) => s.streamBytesSent);
    counter("meshwork_registry_gossip_tcp_received_bytes_total", "Bytes received on push/pull and join streams.", (s) => s.streamBytesReceived);
    counter("consul_memberlist_msg_suspect", "Suspicions this member started about another (memberlist.msg.suspect).", (s) => s.suspicionsStarted);
    counter("meshwork_registry_gossip_probes_total", "Direct probes (pings) this member sent, one per protocol period.", (s) => s.probes);
    counter("meshwork_registry_gossip_probes_failed_total", "Probes that got no ack, directly or through the indirect probers, by the end of the protocol period.", (s) => s.probesFailed);
    counter("meshwork_registry_gossip_indirect_probes_total", "Probes that went on through indirect probers (ping-req) after the ack timeout.", (s) => s.indirectProbes);
    counter("meshwork_registry_gossip_refutations_total", "Times this member refuted a suspicion or death about itself with a higher incarnation.", (s) => s.refutations);
    counter("meshwork_registry_gossip_members_declared_dead_total", "Members this member declared dead when their suspicion timed out.", (s) => s.membersDeclaredDead);
    new Counter({
      name: "meshwork_registry_gossip_packets_dropped_total",
      help: "Gossip packets and streams dropped unread, by reason: unauthenticated (AES-GCM check failed: wrong or missing key), replayed, unencrypted (plain packet while a keyring is set), truncated, oversized, malformed, unsupported-version.",
      labelNames: ["reason"],
      registers,
      collect() {
        const view = currentView();
        if (view === undefined) return;
        this.reset();
        for (const [reason, count] of Object.entries(view.stats.dropped)) this.inc({ reason }, count);
      },
    });
    const serf = (event: string, help: string): Counter => new Counter({ name: `consul_serf_member_${event}`, help, registers });
    this.memberEvents = {
      join: serf("join", "Members seen joining (serf.member.join)."),
      update: serf("update", "Members seen updating their tags or address (serf.member.update)."),
      failed: serf("failed", "Members seen failing: declared dead without leaving (serf.member.failed)."),
      left: serf("left", "Members seen leaving gracefully (serf.member.left)."),
      flap: serf("flap", `Members that joined again within ${flapWindowMs / 1000} s of failing (serf.member.flap).`),
    };
  }

  /** Starts reading the core (it exists only once gossip started). */
  attach(view: GossipView): void {
    this.view = view;
  }

  /** Every event of the gossip core; membership changes count into consul_serf_member_*. */
  observe(event: GossipEvent): void {
    switch (event.type) {
      case "member-joined": {
        this.memberEvents.join.inc();
        const failed = this.failedAt.get(event.member.name);
        if (failed !== undefined && this.now() - failed <= flapWindowMs) this.memberEvents.flap.inc();
        this.failedAt.delete(event.member.name);
        break;
      }
      case "member-updated":
        this.memberEvents.update.inc();
        break;
      case "member-failed":
        this.memberEvents.failed.inc();
        this.failedAt.set(event.member.name, this.now());
        break;
      case "member-left":
        this.memberEvents.left.inc();
        this.failedAt.delete(event.member.name);
        break;
      case "member-reaped":
        this.failedAt.delete(event.member.name);
        break;
      default:
        break;
    }
  }
}
