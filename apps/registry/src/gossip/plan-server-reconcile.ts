// Which Raft membership changes the gossip pool implies for the servers, and how healthy each
// server is (Consul's leader reconcile for servers, agent/consul/leader.go handleAliveMember /
// handleLeftMember / handleFailedMember, and autopilot: stable server introduction, dead server
// cleanup, server health). Pure: the leader's adapter (server-reconciler.ts) passes the members it
// sees, the Raft configuration with its progress and the time, and applies the changes returned.
import type { AutopilotConfig } from "./autopilot-config.ts";
import type { ReconcileMember } from "./plan-member-reconcile.ts";

/** What the leader knows of one Raft member (voter or non-voter). */
export interface RaftServerProgress {
  readonly id: string;
  readonly voter: boolean;
  /** The last log index known to be replicated to it (the leader's own last index for itself). */
  readonly matchIndex: number;
  /** Ms since the leader last heard from it (0 for the leader itself; undefined: never). */
  readonly lastContactMs: number | undefined;
}

export interface ServerReconcileInput {
  /** Every member the leader's gossip core knows, itself included. */
  readonly members: readonly ReconcileMember[];
  /** The Raft configuration with the leader's view of each member's progress. */
  readonly raft: readonly RaftServerProgress[];
  /** The leader's Raft id (never removed by this reconcile). */
  readonly leaderId: string;
  /** The leader's last log index. */
  readonly lastIndex: number;
  /** The leader's term (reported as every server's LastTerm: Raft keeps no per-follower term). */
  readonly term?: number;
  /** Gossip members of another datacenter are not ours to add (Consul checks the dc tag too). */
  readonly datacenter: string;
  readonly config: AutopilotConfig;
  readonly nowMs: number;
  /** Since when each server has been healthy without a break (leader-local, reset with leadership). */
  readonly healthySinceMs: ReadonlyMap<string, number>;
}

/** One Raft membership change; the adapter applies them in order, one at a time (Raft allows one in flight). */
export type ServerChange =
  | { readonly type: "add-non-voter"; readonly id: string; readonly raftAddress: string }
  | { readonly type: "promote"; readonly id: string }
  | { readonly type: "remove"; readonly id: string; readonly reason: "left" | "failed" };

/** A server's health as autopilot reports it (/v1/operator/autopilot/health). */
export interface ServerHealth {
  readonly id: string;
  /** Gossip member name ("" when gossip does not know it). */
  readonly name: string;
  readonly raftAddress: string;
  /** serf's status: alive, failed (our dead), left, or none (not known to gossip). */
  readonly serfStatus: "alive" | "failed" | "left" | "none";
  readonly leader: boolean;
  readonly voter: boolean;
  readonly lastContactMs: number | undefined;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly healthy: boolean;
  /** Since when it has been healthy (or unhealthy: the time it was judged unhealthy, i.e. now). */
  readonly stableSinceMs: number;
}

export interface ServerReconcilePlan {
  readonly changes: readonly ServerChange[];
  readonly health: readonly ServerHealth[];
  /** Healthy voters minus what a quorum needs: how many may fail before the cluster stops (autopilot FailureTolerance). */
  readonly failureTolerance: number;
  /** The next `healthySinceMs` to pass in. */
  readonly healthySinceMs: ReadonlyMap<string, number>;
}

/** Servers are members tagged role=server with a Raft id and address (start-gossip.ts sets them). */
function serverOf(member: ReconcileMember, datacenter: string): { readonly id: string; readonly raftAddress: string } | undefined {
  const { role, id, raft_addr: raftAddress, dc } = member.tags;
  if (role !== "server" || id === undefined || id === "" || raftAddress === undefined || raftAddress === "") return undefined;
  if (dc !== undefined && dc !== datacenter) return undefined;
  return { id, raftAddress };
}

const byName = <T extends { readonly id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The changes and the health the pool and the Raft progress imply:
 * - an alive (or suspect) server member not in the Raft configuration → added as a non-voter;
 * - a non-voter healthy for `serverStabilizationTimeMs` → promoted to voter (autopilot's stable
 *   server introduction); healthy = alive in gossip, heard from within `lastContactThresholdMs`,
 *   at most `maxTrailingLogs` behind the leader's last index;
 * - a server member that left → removed (never the leader: the next leader removes it);
 * - a failed (dead) server member → removed only with `cleanupDeadServers`: non-voters at once,
 *   voters only if those removed are fewer than half the voters (Consul autopilot's "only do
 *   removals if a minority of servers will be affected"), the alive voters stay a quorum, and at
 *   least `minQuorum` voters remain — all failed voters or none;
 * - a Raft member gossip does not know is left alone (it may not have joined the pool yet, or the
 *   cluster was bootstrapped without gossip between its servers): `/v1/operator/raft/peer` removes it.
 */
export function planServerReconcile(input: ServerReconcileInput): ServerReconcilePlan {
  const { config } = input;
  const servers = new Map<string, { readonly member: ReconcileMember; readonly raftAddress: string }>();
  for (const member of input.members) {
    const server = serverOf(member, input.datacenter);
    if (server === undefined) continue;
    const known = servers.get(server.id);
    // Two members claiming one id (a renamed node): the live one wins.
    if (known === undefined || (known.member.state !== "alive" && member.state === "alive")) servers.set(server.id, { member, raftAddress: server.raftAddress });
  }
  const raft = new Map(input.raft.map((progress) => [progress.id, progress]));
  const changes: ServerChange[] = [];

  for (const [id, { member, raftAddress }] of [...servers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (raft.has(id) || (member.state !== "alive" && member.state !== "suspect")) continue;
    changes.push({ type: "add-non-voter", id, raftAddress });
  }

  const health: ServerHealth[] = [];
  const healthySinceMs = new Map<string, number>();
  for (const progress of [...input.raft].sort(byName)) {
    const server = servers.get(progress.id);
    const state = server?.member.state;
    const serfStatus = state === undefined ? "none" : state === "dead" ? "failed" : state === "left" ? "left" : "alive";
    const isLeader = progress.id === input.leaderId;
    const healthy =
      isLeader ||
      (serfStatus === "alive" &&
        state !== "suspect" &&
        progress.lastContactMs !== undefined &&
        progress.lastContactMs <= config.lastContactThresholdMs &&
        input.lastIndex - progress.matchIndex <= config.maxTrailingLogs);
    const since = healthy ? (input.healthySinceMs.get(progress.id) ?? input.nowMs) : input.nowMs;
    if (healthy) healthySinceMs.set(progress.id, since);
    health.push({
      id: progress.id,
      name: server?.member.name ?? "",
      raftAddress: server?.raftAddress ?? "",
      serfStatus,
      leader: isLeader,
      voter: progress.voter,
      lastContactMs: isLeader ? 0 : progress.lastContactMs,
      lastIndex: isLeader ? input.lastIndex : progress.matchIndex,
      lastTerm: input.term ?? 0,
      healthy,
      stableSinceMs: since,
    });
  }

  for (const server of health) {
    if (server.leader) continue;
    if (server.serfStatus === "left") changes.push({ type: "remove", id: server.id, reason: "left" });
    else if (!server.voter && server.serfStatus === "alive" && server.healthy && input.nowMs - server.stableSinceMs >= config.serverStabilizationTimeMs) {
      changes.push({ type: "promote", id: server.id });
    }
  }

  if (config.cleanupDeadServers) {
    const failed = health.filter((server) => server.serfStatus === "failed" && !server.leader);
    for (const server of failed) if (!server.voter) changes.push({ type: "remove", id: server.id, reason: "failed" });
    const failedVoters = failed.filter((server) => server.voter);
    const voters = health.filter((server) => server.voter);
    const healthyVoters = voters.filter((server) => server.healthy).length;
    const remaining = voters.length - failedVoters.length;
    const isMinority = failedVoters.length < Math.floor(voters.length / 2);
    if (failedVoters.length > 0 && isMinority && healthyVoters > voters.length / 2 && remaining >= config.minQuorum) {
      for (const server of failedVoters) changes.push({ type: "remove", id: server.id, reason: "failed" });
    }
  }

  const voters = health.filter((server) => server.voter);
  const healthyVoters = voters.filter((server) => server.healthy).length;
  const failureTolerance = Math.max(0, healthyVoters - (Math.floor(voters.length / 2) + 1));
  return { changes, health, failureTolerance, healthySinceMs };
}
