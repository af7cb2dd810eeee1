// Test fixture for the HTTP layer: a RegistryServer of one replica over the REAL RegistryState —
// writes apply at once with the next index, waitForChange really waits. Not the Raft server (the
// lead's end-to-end tests cover that); `hasLeader = false` plays a follower that lost its leader.
import type { CommandResult, RegistryCommand, RegistryReads, RegistryServer, ReadConsistency, SessionInfo } from "../../src/registry-contract.ts";
import { NotLeaderError } from "../../src/registry-contract.ts";
import { RegistryState } from "../../src/state/registry-state.ts";

interface Waiter {
  readonly ready: () => boolean;
  readonly wake: () => void;
}

export class SingleReplicaServer implements RegistryServer {
  readonly nodeId: string;
  readonly state = new RegistryState();
  readonly peers: readonly string[];
  /** False: reads other than stale and all writes fail as on a follower without a leader. */
  hasLeader = true;
  /** Every command written, in order (for assertions on what the HTTP layer sent). */
  readonly written: RegistryCommand[] = [];
  readonly renewed: string[] = [];
  private index = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly now: () => number;

  constructor(options: { nodeId?: string; now?: () => number } = {}) {
    this.nodeId = options.nodeId ?? "server-1";
    this.peers = ["127.0.0.1:8300"];
    this.now = options.now ?? Date.now;
  }

  get leaderAddress(): string {
    return this.hasLeader ? "127.0.0.1:8300" : "";
  }

  get isLeader(): boolean {
    return this.hasLeader;
  }

  async write(command: RegistryCommand): Promise<CommandResult & { readonly index: number }> {
    if (!this.hasLeader) throw new NotLeaderError("");
    this.written.push(command);
    this.index += 1;
    const result = this.state.apply(this.index, command, this.now());
    if (command.op === "state-restore" && result.ok) for (const listener of [...this.replacedListeners]) listener(this.index);
    for (const waiter of [...this.waiters]) if (waiter.ready()) waiter.wake();
    return { ...result, index: this.index };
  }

  /** One term for the whole life of the fixture (it has no elections). */
  readonly appliedTerm = 1;
  private readonly replacedListeners = new Set<(index: number) => void>();

  /** As RegistryNode: listeners run after a `state-restore` is applied. */
  onStateReplaced(listener: (index: number) => void): () => void {
    this.replacedListeners.add(listener);
    return () => this.replacedListeners.delete(listener);
  }

  async readBarrier(consistency: ReadConsistency): Promise<void> {
    if (consistency !== "stale" && !this.hasLeader) throw new NotLeaderError("");
  }

  waitForChange(index: (state: RegistryReads) => number, minIndex: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (index(this.state) > minIndex || signal?.aborted === true) {
        resolve();
        return;
      }
      const waiter: Waiter = {
        ready: () => index(this.state) > minIndex,
        wake: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", waiter.wake);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, waitMs);
      signal?.addEventListener("abort", waiter.wake);
      this.waiters.add(waiter);
    });
  }

  async renewSession(id: string): Promise<SessionInfo | undefined> {
    this.renewed.push(id);
    return this.state.session(id);
  }

  /** Membership changes asked for through the API (`id` or `id@address`). */
  readonly membership: string[] = [];

  async addServer(id: string, raftAddress: string): Promise<void> {
    this.membership.push(`+${id}@${raftAddress}`);
  }

  async removeServer(id: string): Promise<void> {
    this.membership.push(`-${id}`);
  }

  /** Blocking queries waiting right now. */
  get waiting(): number {
    return this.waiters.size;
  }
}
