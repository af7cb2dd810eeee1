// What a node reports about itself: its role and leader (SoftState, in each Ready that changes it)
// and the fuller Status for operators and tests.
import type { ConfState } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import type { ProgressState } from "./progress.ts";

/** The role of a node. "pre-candidate" is a follower rehearsing an election (thesis §9.6). */
export type RaftState = "follower" | "pre-candidate" | "candidate" | "leader";


/** Volatile state worth telling the driver about when it changes; never persisted. */
export interface SoftState {
  readonly lead: NodeId | null;
  readonly state: RaftState;
}


/** What a leader knows of one member, as reported by `status()`. */
export interface ProgressStatus {
  readonly id: NodeId;
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly paused: boolean;
  readonly pendingSnapshot: LogIndex;
  readonly recentActive: boolean;
  readonly inflight: number;
}


/** A snapshot of a node's state for operators and tests. */
export interface Status {
  readonly id: NodeId;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly lead: NodeId | null;
  readonly state: RaftState;
  readonly config: ConfState;
  readonly leadTransferee: NodeId | null;
  /** Per member, on a leader only (sorted, voters first). */
  readonly progress: readonly ProgressStatus[] | null;
}
