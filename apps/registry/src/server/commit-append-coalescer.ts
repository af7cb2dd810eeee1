// Holds a leader's commit-only appends (AppendEntries without entries, Raft §5.3) for a moment, so
// that the next append with entries — which carries the commit index too — replaces them. Under a
// steady write load a follower then gets one message per write instead of two, and answers one
// instead of two (issue 5: per-put CPU of every node). Holding or dropping a message is what a
// slow or lossy network does, which Raft tolerates; what it costs is how soon a follower learns
// the commit index when no write follows: at most `holdMs` later.
import type { AppendMessage, LogIndex, Message, NodeId } from "@meshwork/raft";

/** The timer the coalescer arms when it starts holding; returns a cancel function. */
export type ScheduleFlush = (run: () => void, delayMs: number) => () => void;

export interface CommitAppendCoalescerOptions {
  /** Sends messages on (the transport). */
  readonly send: (messages: readonly Message[]) => void;
  /** How long a commit-only append may wait for an append with entries to the same follower; 0: not at all. */
  readonly holdMs: number;
  readonly schedule: ScheduleFlush;
}

/**
 * Between the Raft driver and the transport. Never reorders: any other message to a follower
 * goes after the held append to it (or replaces it, when it is an append of the same term whose
 * commit index is at least the held one's). A follower that proposed an entry (a forwarded write,
 * whose client waits for that follower to apply it) gets the commit covering it at once.
 */
export class CommitAppendCoalescer {
  private readonly held = new Map<NodeId, AppendMessage>();
  /** Follower → the last index of the entries it proposed that it has not been told are committed. */
  private readonly proposedBy = new Map<NodeId, LogIndex>();
  private cancelFlush: (() => void) | null = null;
  private readonly options: CommitAppendCoalescerOptions;

  constructor(options: CommitAppendCoalescerOptions) {
    this.options = options;
  }

  /** A follower's proposal was appended at up to `lastIndex` (on the leader). */
  proposed(from: NodeId, lastIndex: LogIndex): void {
    this.proposedBy.set(from, lastIndex);
  }

  send(messages: readonly Message[]): void {
    const out: Message[] = [];
    for (const message of messages) {
      if (message.type === "app") {
        const waiting = this.proposedBy.get(message.to);
        const urgent = waiting !== undefined && message.commit >= waiting;
        if (urgent) this.proposedBy.delete(message.to);
        if (message.entries.length === 0 && !urgent && this.options.holdMs > 0) {
          // A newer commit-only append replaces an older one; the older said nothing more.
          const older = this.held.get(message.to);
          if (older !== undefined && older.term !== message.term) out.push(older);
          this.held.set(message.to, message);
          this.armFlush();
          continue;
        }
      }
      const held = this.held.get(message.to);
      if (held !== undefined) {
        this.held.delete(message.to);
        const replaces = message.type === "app" && message.term === held.term && message.commit >= held.commit;
        if (!replaces) out.push(held);
      }
      out.push(message);
    }
    if (this.held.size === 0) this.disarmFlush();
    if (out.length > 0) this.options.send(out);
  }

  /** Sends whatever is held now. */
  flush(): void {
    this.disarmFlush();
    if (this.held.size === 0) return;
    const out = [...this.held.values()];
    this.held.clear();
    this.options.send(out);
  }

  /** Forgets what is held and who proposed (the node stopped or is no longer the leader). */
  clear(): void {
    this.disarmFlush();
    this.held.clear();
    this.proposedBy.clear();
  }

  private armFlush(): void {
    if (this.cancelFlush !== null) return;
    this.cancelFlush = this.options.schedule(() => {
      this.cancelFlush = null;
      this.flush();
    }, this.options.holdMs);
  }

  private disarmFlush(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
  }
}
