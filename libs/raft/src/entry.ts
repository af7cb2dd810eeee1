// The data the Raft core hands to and takes from its driver: log entries, the hard state that must
// survive a restart (Raft §5.1, Figure 2 "persistent state"), configurations and snapshots (§7).
import type { LogIndex, NodeId, Term } from "./ids.ts";

/** What an entry carries: application data, or a membership change the core applies itself. */
export type EntryType = "normal" | "conf-change";

/** One log entry. `data` is owned by the log once proposed: callers must not mutate it. */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * The state a node must persist before it sends the messages of the same `Ready` (Raft §5.1:
 * currentTerm and votedFor; commit is kept too so a restart re-applies less).
 */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

/** A membership: the voters (who elect and form quorums) and the learners (who only replicate). */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** Where a snapshot ends: it replaces every entry up to and including `index` (Raft §7). */
export interface SnapshotMetadata {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}

/** A state-machine image plus the log position and membership it corresponds to. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** Bytes an entry is charged besides its data, for the per-message and per-Ready size limits. */
export const entryOverheadBytes = 16;

/** The size an entry counts for in `maxSizePerMsg` and the committed-entries budget. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + entryOverheadBytes;
}

/** The hard state of a node that has never voted, seen a term or committed anything. */
export const emptyHardState: HardState = { term: 0 as Term, vote: null, commit: 0 as LogIndex };

/** Whether `state` is the initial hard state (nothing to persist). */
export function isEmptyHardState(state: HardState): boolean {
  return state.term === 0 && state.vote === null && state.commit === 0;
}

/** Whether two hard states are equal field by field. */
export function isSameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** An empty membership, the state of a node that has not yet learnt its cluster. */
export const emptyConfState: ConfState = { voters: [], learners: [] };

/** Returns `entries` cut so their total `entrySizeBytes` stays within `maxBytes`, keeping at least one. */
export function limitEntriesSize<E extends Entry>(entries: readonly E[], maxBytes: number): readonly E[] {
  if (entries.length === 0) return entries;
  let size = entrySizeBytes(entries[0] as E);
  let count = 1;
  for (; count < entries.length; count++) {
    size += entrySizeBytes(entries[count] as E);
    if (size > maxBytes) break;
  }
  return count === entries.length ? entries : entries.slice(0, count);
}
