// Linearizable reads without writing to the log (thesis §6.4): the leader notes its commit index
// for each read, confirms with a heartbeat round that it is still leader, then releases the read.
import type { LogIndex, NodeId } from "./ids.ts";

/** A read waiting for a quorum to acknowledge the leader's heartbeat. */
export interface PendingRead {
  readonly context: string;
  /** The commit index when the read arrived: the read may be served once this is applied. */
  readonly index: LogIndex;
  /** The node that asked (the leader itself, or a follower that forwarded it). */
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

/** Reads in arrival order, each released once a quorum acknowledged it or a later one. */
export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  /** Adds a read; a context already pending is ignored. Returns whether it was added. */
  add(context: string, index: LogIndex, from: NodeId, self: NodeId): boolean {
    if (this.pending.has(context)) return false;
    this.pending.set(context, { context, index, from, acks: new Set([self]) });
    this.queue.push(context);
    return true;
  }

  /** Records that `from` answered the heartbeat carrying `context`; returns the acks so far, if pending. */
  recvAck(from: NodeId, context: string): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(context);
    if (read === undefined) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /**
   * Releases the read with `context` and every read queued before it: a quorum acknowledging a
   * later heartbeat confirms leadership at a time after the earlier reads arrived.
   */
  advance(context: string): PendingRead[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1).map((ctx) => this.pending.get(ctx) as PendingRead);
    for (const read of released) this.pending.delete(read.context);
    this.queue = this.queue.slice(at + 1);
    return released;
  }

  /** The newest pending context, sent with every heartbeat. */
  lastPendingContext(): string | null {
    return this.queue[this.queue.length - 1] ?? null;
  }

  size(): number {
    return this.queue.length;
  }
}
