// What a leader knows about one follower's log and how it replicates to it: probing for the
// match point, pipelining in "replicate", or waiting for a snapshot (etcd's Progress).
import { Inflights } from "./inflights.ts";
import type { LogIndex } from "./ids.ts";

/**
 * `probe`: the leader does not know where the follower's log matches and sends one append per
 * heartbeat interval until it finds out. `replicate`: the logs match up to `match`; appends are
 * pipelined within the inflight window. `snapshot`: the entries the follower needs are
 * compacted; a snapshot is on its way and appends wait.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** The leader's view of one peer (Raft §5.3's nextIndex and matchIndex, plus flow control). */
export class Progress {
  /** The highest index known to be replicated on the peer. */
  match: LogIndex;
  /** The index of the next entry to send. */
  next: LogIndex;
  state: ProgressState = "probe";
  /** In "snapshot" state: the index of the snapshot being sent. */
  pendingSnapshot: LogIndex = 0 as LogIndex;
  /** Whether the peer was heard from since the last CheckQuorum round (thesis §6.2). */
  recentActive = false;
  /** In "probe": an append is out, wait for an answer or a heartbeat. In "replicate": the window is full. */
  msgAppFlowPaused = false;
  /** The highest commit index sent to the peer. */
  sentCommit: LogIndex = 0 as LogIndex;
  /** Leader ticks spent in "snapshot" state (to give up on a snapshot that was lost). */
  snapshotTicks = 0;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(options: { next: LogIndex; maxInflight: number; maxInflightBytes: number; isLearner: boolean }) {
    this.match = 0 as LogIndex;
    this.next = options.next;
    this.inflights = new Inflights(options.maxInflight, options.maxInflightBytes);
    this.isLearner = options.isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0 as LogIndex;
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Back to probing from just after `match` (or after a snapshot that was sent). */
  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1) as LogIndex;
    } else {
      this.resetState("probe");
      this.next = (this.match + 1) as LogIndex;
    }
  }

  /** Starts pipelining after `match`. */
  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = (this.match + 1) as LogIndex;
  }

  /** Waits for the snapshot at `snapshotIndex` to be installed. */
  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = (snapshotIndex + 1) as LogIndex;
  }

  /** Records that the peer's log matches up to `index`; returns whether `match` grew. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    if (this.next < index + 1) this.next = (index + 1) as LogIndex;
    return updated;
  }

  /**
   * Handles a rejected append of the entries after `rejected`; `matchHint` is the follower's
   * guess of the last index where the logs may agree. Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === "replicate") {
      // Rejections at or below match are stale: the follower already acknowledged more.
      if (rejected <= this.match) return false;
      this.next = (this.match + 1) as LogIndex;
      return true;
    }
    // In probe (or snapshot) state only the latest probe, at next - 1, counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1) as LogIndex;
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Records an append of `count` entries (`bytes` in size) just sent. */
  sentEntries(count: number, bytes: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = (this.next + count) as LogIndex;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.isFull();
    } else if (this.state === "probe" && count > 0) {
      this.msgAppFlowPaused = true;
    }
  }

  /** Records a commit index sent in an append or heartbeat. */
  sentCommitIndex(commit: LogIndex): void {
    if (commit > this.sentCommit) this.sentCommit = commit;
  }

  /**
   * Whether an append carrying no entries would still tell the peer something: a commit index it
   * has not been sent and that its log (up to `next - 1`) can hold.
   */
  canBumpCommit(commit: LogIndex): boolean {
    return this.state !== "snapshot" && this.sentCommit < Math.min(commit, this.next - 1);
  }

  /** Whether appends to the peer must wait. */
  isPaused(): boolean {
    return this.state === "snapshot" || this.msgAppFlowPaused;
  }
}
