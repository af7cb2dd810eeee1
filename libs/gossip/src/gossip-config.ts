// Settings of the gossip core; defaults tuned with bench/gossip (memberlist's DefaultLANConfig is the
// starting point: the same shape, faster detection).

/** Tunables; every duration is in milliseconds of the driver's clock. */
export interface GossipSettings {
  /** SWIM protocol period: one probe per interval (scaled by the health multiplier). */
  readonly probeIntervalMs: number;
  /** How long to wait for a direct ack before indirect probes (scaled by the health multiplier). */
  readonly probeTimeoutMs: number;
  /** k of SWIM's ping-req: members asked to probe indirectly. */
  readonly indirectChecks: number;
  /** λ of the retransmit limit λ·ceil(log10(n+1)). */
  readonly retransmitMult: number;
  /** Minimum suspicion timeout = suspicionMult · max(1, log10 n) · probeInterval. */
  readonly suspicionMult: number;
  /** Lifeguard: maximum suspicion timeout = this · minimum. */
  readonly suspicionMaxTimeoutMult: number;
  /**
   * Lifeguard's K: independent confirmations (other members' own failed probes) that bring a
   * suspicion's timeout from the maximum down to the minimum. memberlist derives it as
   * suspicionMult − 2; here it is its own setting so the minimum can be short while a lone
   * suspicion still waits long. 0: the minimum at once. Ignored without Lifeguard.
   */
  readonly suspicionConfirmations: number;
  /** Lifeguard: the local health multiplier's ceiling (1 disables it). */
  readonly awarenessMaxMultiplier: number;
  /** How often piggybacked updates are pushed to `gossipNodes` random members. */
  readonly gossipIntervalMs: number;
  readonly gossipNodes: number;
  /** Dead members keep receiving gossip this long (so they can learn of and refute their death). */
  readonly gossipToTheDeadMs: number;
  /** Push/pull anti-entropy period, scaled up beyond 32 members (memberlist pushPullScale); 0 disables. */
  readonly pushPullIntervalMs: number;
  /**
   * Periodic push/pulls first compare digests of the two views and exchange full state only if
   * they differ (not in memberlist; it saves the full-state cost in a quiet cluster).
   */
  readonly pushPullDigests: boolean;
  /** Largest datagram sent, memberlist's UDPBufferSize. */
  readonly maxPacketBytes: number;
  /** Largest push/pull exchange accepted. */
  readonly maxStreamBytes: number;
  /**
   * How often a push/pull is tried with a random failed member, so that the two sides of a healed
   * partition find each other again (serf's reconnect; memberlist alone never talks to the dead).
   * 0 disables.
   */
  readonly reconnectIntervalMs: number;
  /** Dead and left members are forgotten this long after their death (serf's reap). */
  readonly reapAfterMs: number;
  /** Default query timeout = gossipInterval · queryTimeoutMult · ceil(log10(n+1)) (serf). */
  readonly queryTimeoutMult: number;
  /** Lamport times of events kept for de-duplication; older events are dropped (serf EventBuffer). */
  readonly eventBufferSize: number;
  /**
   * Lifeguard on (default): health multiplier, nacks, dynamic suspicion timeouts and the buddy
   * system. Off: plain SWIM with memberlist's fixed suspicion timeout (for comparison runs).
   */
  readonly lifeguard: boolean;
}

/**
 * Defaults chosen with bench/gossip (README there): a dead member is declared dead within 5 s
 * (p99) at 100 and 1,000 members, no live member is at 10 % datagram loss, under 1 kB/s per
 * member. Against memberlist's DefaultLANConfig (1 s / 500 ms / k 3 / suspicionMult 4, a verdict
 * after 10–14 s): a faster probe period (400 ms), a short minimum suspicion timeout
 * (2 · log10 n periods: 1.6 s at 100 members, 2.4 s at 1,000) reached only with 2 independent
 * confirmations (Lifeguard's K; a lone suspicion waits 6 × that), 5 indirect probers (a live member
 * at 10 % loss fails a probe ~8 × less often than with 3), and gossip every 100 ms so that
 * refutations and confirmations spread in about half the time.
 */
export const DEFAULT_GOSSIP_SETTINGS: GossipSettings = {
  probeIntervalMs: 400,
  probeTimeoutMs: 200,
  indirectChecks: 5,
  retransmitMult: 4,
  suspicionMult: 2,
  suspicionMaxTimeoutMult: 6,
  suspicionConfirmations: 2,
  awarenessMaxMultiplier: 8,
  gossipIntervalMs: 100,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  pushPullDigests: true,
  maxPacketBytes: 1_400,
  maxStreamBytes: 16 * 1024 * 1024,
  reconnectIntervalMs: 30_000,
  reapAfterMs: 24 * 3_600_000,
  queryTimeoutMult: 16,
  eventBufferSize: 512,
  lifeguard: true,
};

/** Memberlist's pushPullScale: the period grows with log2(n) beyond 32 members. */
export function pushPullInterval(intervalMs: number, members: number): number {
  if (members <= 32) return intervalMs;
  return intervalMs * (Math.ceil(Math.log2(members) - Math.log2(32)) + 1);
}

/** Checks settings; returns the first problem, naming the setting and the fix. */
export function checkGossipSettings(s: GossipSettings): string | undefined {
  const positive: (keyof GossipSettings)[] = [
    "probeIntervalMs",
    "probeTimeoutMs",
    "retransmitMult",
    "suspicionMult",
    "suspicionMaxTimeoutMult",
    "awarenessMaxMultiplier",
    "gossipIntervalMs",
    "maxPacketBytes",
    "maxStreamBytes",
    "queryTimeoutMult",
    "eventBufferSize",
  ];
  for (const key of positive) {
    const value = s[key];
    if (typeof value !== "number" || !(value > 0)) return `gossip settings: ${key} must be a positive number, got ${String(value)}`;
  }
  if (s.probeTimeoutMs >= s.probeIntervalMs) return `gossip settings: probeTimeoutMs (${s.probeTimeoutMs}) must be below probeIntervalMs (${s.probeIntervalMs})`;
  if (s.maxPacketBytes < 512) return `gossip settings: maxPacketBytes must be at least 512 to fit a probe and an alive message, got ${s.maxPacketBytes}`;
  if (!Number.isInteger(s.suspicionConfirmations) || s.suspicionConfirmations < 0) {
    return `gossip settings: suspicionConfirmations must be a whole number >= 0 (0: no waiting for confirmations), got ${String(s.suspicionConfirmations)}`;
  }
  if (s.suspicionMaxTimeoutMult < 1) return `gossip settings: suspicionMaxTimeoutMult must be >= 1, got ${s.suspicionMaxTimeoutMult}`;
  return undefined;
}
