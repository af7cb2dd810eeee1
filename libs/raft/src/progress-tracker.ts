// The membership a node currently uses and, on a leader, the Progress of every member; also the
// votes of the current election. Iteration is in sorted id order so runs are reproducible.
import type { ConfState } from "./entry.ts";
import type { LogIndex, NodeId } from "./ids.ts";
import { Progress } from "./progress.ts";
import { committedIndex, voteResult } from "./quorum.ts";
import type { VoteResult } from "./quorum.ts";

/** Flow-control limits given to every Progress. */
export interface InflightLimits {
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

/** Voters, learners, their progress and the votes of the ongoing election. */
export class ProgressTracker {
  voters: readonly NodeId[] = [];
  learners: readonly NodeId[] = [];
  /** Voters then learners, each sorted. */
  members: readonly NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  private readonly limits: InflightLimits;

  constructor(limits: InflightLimits) {
    this.limits = limits;
  }

  /**
   * Switches to `state`, keeping the Progress of members that stay and creating one for new
   * members that starts probing at `nextIndex`.
   */
  setConfState(state: ConfState, nextIndex: LogIndex): void {
    const voters = [...new Set(state.voters)].sort();
    const learners = [...new Set(state.learners)].filter((id) => !voters.includes(id)).sort();
    this.voters = voters;
    this.learners = learners;
    this.members = [...voters, ...learners];
    for (const id of [...this.progress.keys()]) {
      if (!this.members.includes(id)) this.progress.delete(id);
    }
    for (const id of this.members) {
      const isLearner = !voters.includes(id);
      const existing = this.progress.get(id);
      if (existing !== undefined) {
        existing.isLearner = isLearner;
        continue;
      }
      const pr = this.newProgress(nextIndex, isLearner);
      // A new member counts as active so CheckQuorum does not depose the leader before it answers.
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
  }

  /** A fresh Progress for one member. */
  newProgress(nextIndex: LogIndex, isLearner: boolean): Progress {
    return new Progress({ next: nextIndex, isLearner, maxInflight: this.limits.maxInflight, maxInflightBytes: this.limits.maxInflightBytes });
  }

  /** The membership in force, ids sorted. */
  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  /** Whether the only voter is `id` (a one-node cluster commits and reads alone). */
  isSingletonOf(id: NodeId): boolean {
    return this.voters.length === 1 && this.voters[0] === id;
  }

  /** The index a majority of voters has replicated (Raft §5.3). */
  committed(): LogIndex {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a (pre-)vote; only the first answer of each voter counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** The votes granted and refused so far, and the outcome. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const vote = this.votes.get(id);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }

  /** Whether a majority of voters counts as recently active (thesis §6.2); `self` always does. */
  isQuorumActive(self: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.voters) active.set(id, id === self || this.progress.get(id)?.recentActive === true);
    return voteResult(this.voters, active) === "won";
  }
}
