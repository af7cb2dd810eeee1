// Bootstrapping a new cluster the way etcd does: the initial membership is written as committed
// conf-change entries at the head of the log, so every node (including ones added much later,
// which replicate the log from its start) learns it by applying the log.
import { encodeConfChange } from "./conf-change.ts";
import type { ConfState, Entry, HardState } from "./entry.ts";
import type { LogIndex, Term } from "./ids.ts";

/** What each founding member persists before its first start. */
export interface Bootstrap {
  /** One conf-change entry per member at term 1, indexes 1..n: voters first, then learners, each sorted. */
  readonly entries: readonly Entry[];
  /** Term 1, no vote, the entries committed. */
  readonly hardState: HardState;
}

/** The log and hard state that found a cluster with `members`; throws if it has no voter. */
export function bootstrapCluster(members: ConfState): Bootstrap {
  if (members.voters.length === 0) throw new RangeError("a cluster needs at least one voter");
  const changes = [
    ...[...members.voters].sort().map((nodeId) => ({ type: "add-voter" as const, nodeId })),
    ...[...members.learners].sort().map((nodeId) => ({ type: "add-learner" as const, nodeId })),
  ];
  const entries = changes.map((change, k): Entry => ({ term: 1 as Term, index: (k + 1) as LogIndex, type: "conf-change", data: encodeConfChange(change) }));
  return { entries, hardState: { term: 1 as Term, vote: null, commit: entries.length as LogIndex } };
}
