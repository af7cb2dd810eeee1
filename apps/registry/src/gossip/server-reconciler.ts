// The leader's Raft membership reconcile from gossip (Consul leader.go reconcileMember for servers,
// plus autopilot): on every membership event, on becoming leader and every `intervalMs` (stable
// server promotion and dead server cleanup need time to pass), it plans the changes
// (plan-server-reconcile.ts) and applies them one at a time, one run at a time. Followers do
// nothing. It also answers /v1/operator/autopilot/* (configuration and health).
import type { AutopilotConfig } from "./autopilot-config.ts";
import { CoalescedLoop } from "./coalesced-loop.ts";
import type { ReconcileMember } from "./plan-member-reconcile.ts";
import { planServerReconcile } from "./plan-server-reconcile.ts";
import type { RaftServerProgress, ServerChange, ServerReconcilePlan } from "./plan-server-reconcile.ts";

/** What the reconciler needs of the Raft node (RegistryNode has it). */
export interface ReconciledRaft {
  readonly nodeId: string;
  readonly isLeader: boolean;
  /** The leader's view of each Raft member; undefined on a follower. */
  raftProgress(): { readonly lastIndex: number; readonly term: number; readonly servers: readonly RaftServerProgress[] } | undefined;
  addNonVoter(id: string, raftAddress: string): Promise<void>;
  addServer(id: string, raftAddress: string): Promise<void>;
  removeServer(id: string): Promise<void>;
}

export interface ServerReconcilerOptions {
  readonly raft: ReconciledRaft;
  /** Every member the local gossip core knows, itself included. */
  readonly members: () => readonly ReconcileMember[];
  readonly datacenter: string;
  readonly config: AutopilotConfig;
  /** Periodic run (Consul's autopilot checks server health every 2 s and reconciles every 10 s). */
  readonly intervalMs: number;
  readonly now?: () => number;
  readonly log?: (level: "info" | "warn", msg: string, fields: Record<string, unknown>) => void;
}

export class ServerReconciler {
  readonly #options: ServerReconcilerOptions;
  readonly #now: () => number;
  #config: AutopilotConfig;
  /** Raft index-like counters for the configuration's CreateIndex/ModifyIndex (local to this server). */
  #configModifyIndex = 1;
  #healthySinceMs: ReadonlyMap<string, number> = new Map();
  #wasLeader = false;
  readonly #loop: CoalescedLoop;

  constructor(options: ServerReconcilerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#config = options.config;
    this.#loop = new CoalescedLoop(() => this.#run(), options.intervalMs);
  }

  /** Starts the periodic reconcile. */
  start(): void {
    this.#loop.start();
  }

  /** Leadership may have changed: a new leader judges stability afresh (autopilot resets its state too). */
  leadershipChanged(): void {
    const isLeader = this.#options.raft.isLeader;
    if (isLeader !== this.#wasLeader) this.#healthySinceMs = new Map();
    this.#wasLeader = isLeader;
    this.trigger();
  }

  get config(): AutopilotConfig {
    return this.#config;
  }

  get configIndex(): { readonly createIndex: number; readonly modifyIndex: number } {
    return { createIndex: 1, modifyIndex: this.#configModifyIndex };
  }

  /** Replaces the configuration; with `cas`, only if it equals the current ModifyIndex (Consul's ?cas). */
  setConfig(config: AutopilotConfig, cas?: number): boolean {
    if (cas !== undefined && cas !== this.#configModifyIndex) return false;
    this.#config = config;
    this.#configModifyIndex++;
    this.trigger();
    return true;
  }

  /** The current plan (health of every server) on the leader; undefined on a follower. */
  plan(): ServerReconcilePlan | undefined {
    const progress = this.#options.raft.raftProgress();
    if (progress === undefined) return undefined;
    return planServerReconcile({
      members: this.#options.members(),
      raft: progress.servers,
      leaderId: this.#options.raft.nodeId,
      lastIndex: progress.lastIndex,
      term: progress.term,
      datacenter: this.#options.datacenter,
      config: this.#config,
      nowMs: this.#now(),
      healthySinceMs: this.#healthySinceMs,
    });
  }

  /** Asks for a run (coalesced with one in flight). */
  trigger(): void {
    this.#loop.trigger();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #run(): Promise<void> {
    const { raft } = this.#options;
    if (!raft.isLeader) return;
    const plan = this.plan();
    if (plan === undefined) return;
    this.#healthySinceMs = plan.healthySinceMs;
    for (const change of plan.changes) {
      if (this.#loop.stopped || !raft.isLeader) return;
      try {
        await this.#apply(change);
        this.#options.log?.("info", "raft membership reconciled from gossip", { ...change });
      } catch (error) {
        // The next event or period retries with a fresh plan (Raft takes one change at a time).
        this.#options.log?.("warn", "raft membership change from gossip failed; will retry", { ...change, err: error instanceof Error ? error.message : String(error) });
        return;
      }
    }
  }

  #apply(change: ServerChange): Promise<void> {
    const { raft } = this.#options;
    switch (change.type) {
      case "add-non-voter":
        return raft.addNonVoter(change.id, change.raftAddress);
      case "promote": {
        // add-voter on a learner promotes it; the address is already known from the learner's add.
        return raft.addServer(change.id, "");
      }
      case "remove":
        return raft.removeServer(change.id);
    }
  }
}
