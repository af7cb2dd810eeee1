// The leader's membership reconcile loop (Consul leader.go reconcile): on every membership event,
// on becoming leader and every `intervalMs` (for reconnect timeouts), it plans the catalog changes
// the gossip pool implies (plan-member-reconcile.ts) and proposes them through Raft, one run at a
// time. Followers do nothing: the catalog they serve is the leader's, replicated.
import type { RegistryServer } from "../registry-contract.ts";
import { CoalescedLoop } from "./coalesced-loop.ts";
import { planMemberReconcile, serfCheckId } from "./plan-member-reconcile.ts";
import type { ReconcileCatalogNode, ReconcileMember } from "./plan-member-reconcile.ts";

export interface MemberReconcilerOptions {
  readonly server: Pick<RegistryServer, "isLeader" | "state" | "write">;
  /** Every member the local gossip core knows, itself included. */
  readonly members: () => readonly ReconcileMember[];
  readonly selfName: string;
  readonly reconnectTimeoutMs: number;
  /** Full reconcile period (Consul's reconcile_interval is 60 s). */
  readonly intervalMs: number;
  /**
   * After `start`, how long catalog nodes with serfHealth but no known member are left alone (this
   * member may still be joining the pool after a restart; Consul restores serf's snapshot instead). Default 0.
   */
  readonly unknownGraceMs?: number;
  readonly now?: () => number;
  readonly log?: (level: "info" | "warn", msg: string, fields: Record<string, unknown>) => void;
}

export class MemberReconciler {
  readonly #options: MemberReconcilerOptions;
  readonly #now: () => number;
  #unknownSinceMs: ReadonlyMap<string, number> = new Map();
  #wasLeader = false;
  #startedMs = 0;
  readonly #loop: CoalescedLoop;

  constructor(options: MemberReconcilerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#loop = new CoalescedLoop(() => this.#run(), options.intervalMs);
  }

  /** Starts the periodic full reconcile. */
  start(): void {
    this.#startedMs = this.#now();
    this.#loop.start();
  }

  /** Leadership may have changed: a new leader starts its bookkeeping afresh and reconciles everything. */
  leadershipChanged(): void {
    const isLeader = this.#options.server.isLeader;
    if (isLeader !== this.#wasLeader) this.#unknownSinceMs = new Map();
    this.#wasLeader = isLeader;
    this.trigger();
  }

  /** Asks for a run (coalesced with one in flight). */
  trigger(): void {
    this.#loop.trigger();
  }

  /** Waits for the run in flight (tests). */
  settled(): Promise<void> {
    return this.#loop.settled();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #run(): Promise<void> {
    const { server } = this.#options;
    if (!server.isLeader) return;
    const state = server.state;
    const catalog: ReconcileCatalogNode[] = state.nodes().map((node) => ({
      node: node.node,
      address: node.address,
      meta: node.meta,
      serfHealth: state.nodeChecks?.(node.node).find((check) => check.checkId === serfCheckId && check.serviceId === undefined)?.status,
    }));
    const plan = planMemberReconcile({
      members: this.#options.members(),
      catalog,
      selfName: this.#options.selfName,
      nowMs: this.#now(),
      reconnectTimeoutMs: this.#options.reconnectTimeoutMs,
      unknownSinceMs: this.#unknownSinceMs,
      judgeUnknown: this.#now() - this.#startedMs >= (this.#options.unknownGraceMs ?? 0),
    });
    this.#unknownSinceMs = plan.unknownSinceMs;
    for (const command of plan.commands) {
      if (this.#loop.stopped || !server.isLeader) return;
      try {
        const result = await server.write(command);
        const status = command.op === "catalog-register" ? command.checks?.[0]?.status : "deregistered";
        if (result.ok) this.#options.log?.("info", "gossip membership reconciled into the catalog", { node: command.node, serfHealth: status });
        else this.#options.log?.("warn", "catalog refused a membership reconcile", { node: command.node, errors: result.errors });
      } catch (error) {
        // The next event or period retries with a fresh plan.
        this.#options.log?.("warn", "membership reconcile write failed; will retry", { node: command.node, err: error instanceof Error ? error.message : String(error) });
        return;
      }
    }
  }
}
