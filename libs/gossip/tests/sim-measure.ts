// Measurements over the seeded gossip simulation, shared by simulation.test.ts (behaviour) and
// bench/gossip/simulate.ts (figures): detection of crashed members, dissemination rounds, false
// positives under loss, and bandwidth per member. All times are simulated milliseconds.

import type { GossipSettings } from "../src/index.ts";
import { GossipSim } from "./gossip-sim.ts";

export interface DetectionSample {
  readonly member: string;
  /** Crash → first member suspects it (SWIM's "detection"). */
  readonly firstSuspectMs: number | undefined;
  /** Crash → first member declares it dead. */
  readonly firstDeadMs: number | undefined;
  /** Crash → every live member has it dead or left. */
  readonly allDeadMs: number | undefined;
}

export interface DetectionRun {
  readonly samples: readonly DetectionSample[];
  /** member-failed events about members that were alive (false positives) during the run. */
  readonly falsePositives: number;
}

/** Crashes `crashes` members one after another, `spacingMs` apart, in a converged cluster of `members`. */
export function measureDetection(options: {
  readonly seed: number;
  readonly members: number;
  readonly crashes: number;
  readonly spacingMs: number;
  readonly lossRate?: number;
  readonly settings?: Partial<GossipSettings>;
}): DetectionRun {
  const sim = new GossipSim({ seed: options.seed, lossRate: options.lossRate ?? 0, ...(options.settings ? { settings: options.settings } : {}) });
  sim.addConverged(options.members);
  sim.runFor(5_000);
  const crashedAt = new Map<string, number>();
  const names = [...sim.nodes.keys()];
  for (let i = 0; i < options.crashes; i++) {
    const victim = names[(i * 7919 + 13) % names.length] as string;
    if (crashedAt.has(victim)) continue;
    crashedAt.set(victim, sim.nowMs);
    sim.crash(victim);
    sim.runFor(options.spacingMs);
  }
  const samples: DetectionSample[] = [];
  for (const [member, at] of crashedAt) {
    const about = sim.events.filter((e) => e.atMs >= at && "member" in e.event && e.event.member.name === member);
    const firstSuspect = about.find((e) => e.event.type === "member-suspected");
    const failed = about.filter((e) => e.event.type === "member-failed");
    const liveObservers = [...sim.nodes.values()].filter((n) => !crashedAt.has(n.name)).length;
    const observers = new Set<string>();
    let allDeadAt: number | undefined;
    for (const e of failed) {
      if (crashedAt.has(e.at)) continue;
      observers.add(e.at);
      if (observers.size === liveObservers) {
        allDeadAt = e.atMs;
        break;
      }
    }
    samples.push({
      member,
      firstSuspectMs: firstSuspect ? firstSuspect.atMs - at : undefined,
      firstDeadMs: failed[0] ? failed[0].atMs - at : undefined,
      allDeadMs: allDeadAt === undefined ? undefined : allDeadAt - at,
    });
  }
  const falsePositives = sim.events.filter((e) => e.event.type === "member-failed" && !crashedAt.has(e.event.member.name)).length;
  return { samples, falsePositives };
}

export interface FalsePositiveRun {
  readonly members: number;
  readonly durationMs: number;
  readonly lossRate: number;
  readonly lifeguard: boolean;
  /** Times any member declared a live member dead (each declaration counted once, at its source). */
  readonly deadDeclarations: number;
  /** member-failed events seen anywhere (one declaration seen by many counts many times). */
  readonly failedEvents: number;
  readonly suspicions: number;
  readonly refutations: number;
}

/** Runs a converged cluster with no crashes under datagram loss and counts wrong death verdicts. */
export function measureFalsePositives(options: {
  readonly seed: number;
  readonly members: number;
  readonly durationMs: number;
  readonly lossRate: number;
  readonly lifeguard: boolean;
  readonly settings?: Partial<GossipSettings>;
}): FalsePositiveRun {
  const sim = new GossipSim({ seed: options.seed, lossRate: options.lossRate, settings: { ...options.settings, lifeguard: options.lifeguard } });
  sim.addConverged(options.members);
  sim.runFor(options.durationMs);
  let deadDeclarations = 0;
  let suspicions = 0;
  let refutations = 0;
  for (const node of sim.nodes.values()) {
    deadDeclarations += node.core.stats.membersDeclaredDead;
    suspicions += node.core.stats.suspicionsStarted;
    refutations += node.core.stats.refutations;
  }
  const failedEvents = sim.events.filter((e) => e.event.type === "member-failed").length;
  return { members: options.members, durationMs: options.durationMs, lossRate: options.lossRate, lifeguard: options.lifeguard, deadDeclarations, failedEvents, suspicions, refutations };
}

export interface DisseminationRun {
  readonly members: number;
  /** Time for a user event fired at one member to reach all, in gossip intervals. */
  readonly rounds: number;
  readonly reached: number;
}

/** Fires one user event and counts gossip rounds until every member has it. */
export function measureDissemination(options: { readonly seed: number; readonly members: number; readonly lossRate?: number }): DisseminationRun {
  const sim = new GossipSim({ seed: options.seed, lossRate: options.lossRate ?? 0, minLatencyMs: 1, maxLatencyMs: 5 });
  sim.addConverged(options.members);
  sim.runFor(3_000);
  const start = sim.nowMs;
  sim.act("node-0", (core) => core.userEvent("probe", Uint8Array.of(1)));
  sim.runFor(30_000);
  const received = sim.events.filter((e) => e.event.type === "user-event-received");
  const last = Math.max(...received.map((e) => e.atMs));
  const interval = sim.core("node-0").settings.gossipIntervalMs;
  return { members: options.members, rounds: (last - start) / interval, reached: new Set(received.map((e) => e.at)).size };
}

export interface BandwidthRun {
  readonly members: number;
  readonly windowMs: number;
  /** Datagram payload bytes sent per member per second (no IP/UDP headers). */
  readonly udpBytesPerMemberPerSecond: number;
  /** Push/pull stream bytes sent per member per second. */
  readonly streamBytesPerMemberPerSecond: number;
  /** Both, plus the 29-byte AES-GCM envelope per datagram and stream. */
  readonly encryptedBytesPerMemberPerSecond: number;
  readonly packetsPerMemberPerSecond: number;
}

/** Steady-state bytes sent per member per second over `windowMs`, after a warm-up. */
export function measureBandwidth(options: {
  readonly seed: number;
  readonly members: number;
  readonly windowMs: number;
  /** Member names are `${prefix}${i}` (also used as the address). */
  readonly prefix?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly settings?: Partial<GossipSettings>;
}): BandwidthRun {
  const sim = new GossipSim({ seed: options.seed, ...(options.settings ? { settings: options.settings } : {}) });
  sim.addConverged(options.members, options.prefix, options.tags);
  sim.runFor(10_000);
  const before = totals(sim);
  sim.runFor(options.windowMs);
  const after = totals(sim);
  const perMemberSecond = (value: number) => value / options.members / (options.windowMs / 1_000);
  const udp = perMemberSecond(after.bytes - before.bytes);
  const stream = perMemberSecond(after.streamBytes - before.streamBytes);
  const envelopes = perMemberSecond(after.packets - before.packets + after.streams - before.streams) * 29;
  return {
    members: options.members,
    windowMs: options.windowMs,
    udpBytesPerMemberPerSecond: udp,
    streamBytesPerMemberPerSecond: stream,
    encryptedBytesPerMemberPerSecond: udp + stream + envelopes,
    packetsPerMemberPerSecond: perMemberSecond(after.packets - before.packets),
  };
}

function totals(sim: GossipSim): { bytes: number; streamBytes: number; packets: number; streams: number } {
  let bytes = 0;
  let streamBytes = 0;
  let packets = 0;
  let streams = 0;
  for (const node of sim.nodes.values()) {
    bytes += node.core.stats.bytesSent;
    streamBytes += node.core.stats.streamBytesSent;
    packets += node.core.stats.packetsSent;
    streams += node.core.stats.streamsSent * 2;
  }
  return { bytes, streamBytes, packets, streams };
}

/** The p-th percentile (0–100) of defined values, nearest-rank. */
export function percentile(values: readonly (number | undefined)[], p: number): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (defined.length === 0) return undefined;
  return defined[Math.min(defined.length - 1, Math.max(0, Math.ceil((p / 100) * defined.length) - 1))];
}
