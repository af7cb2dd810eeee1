// Majority quorums: the commit index a set of voters has agreed on (the median of their match
// indexes) and the outcome of an election. Raft §5.2 and §5.3 need nothing more; joint
// consensus (§6 of the paper) would combine two of these.
import type { LogIndex, NodeId } from "./ids.ts";

/** An election: won (a majority granted), lost (a majority refused) or still open. */
export type VoteResult = "won" | "lost" | "pending";

/** How many of `voterCount` voters form a majority. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest index that a majority of `voters` has replicated, given each voter's match index
 * (missing voters count as 0): sorting the matches in descending order, the value at position
 * `quorumSize - 1`. With no voters it is `Number.MAX_SAFE_INTEGER`, so that taking the minimum
 * with another configuration (joint consensus) is neutral.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => LogIndex | undefined): LogIndex {
  const n = voters.length;
  if (n === 0) return Number.MAX_SAFE_INTEGER as LogIndex;
  if (n === 1) return matchOf(voters[0] as NodeId) ?? (0 as LogIndex);
  const matches = new Array<number>(n);
  for (let i = 0; i < n; i++) matches[i] = matchOf(voters[i] as NodeId) ?? 0;
  // Insertion sort, descending: voter sets are small (3, 5, 7).
  for (let i = 1; i < n; i++) {
    const value = matches[i] as number;
    let j = i - 1;
    while (j >= 0 && (matches[j] as number) < value) {
      matches[j + 1] = matches[j] as number;
      j--;
    }
    matches[j + 1] = value;
  }
  return matches[quorumSize(n) - 1] as LogIndex;
}

/**
 * The result of an election among `voters` given the votes received (`true` granted, `false`
 * refused, absent not yet answered). An empty voter set wins, again for joint consensus.
 */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return "won";
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return "won";
  if (granted + missing >= q) return "pending";
  return "lost";
}
