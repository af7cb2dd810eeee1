// The storage the driver implements and the core reads (etcd's Storage): the durable log, hard
// state and latest snapshot. The core never writes it; the driver persists each `Ready` into it.
import type { ConfState, Entry, HardState, Snapshot } from "./entry.ts";
import type { LogIndex, Term } from "./ids.ts";

/** What a node starts from: its persisted hard state and membership. */
export interface InitialState {
  readonly hardState: HardState;
  /** The membership as of the snapshot (conf changes after it are replayed from the log). */
  readonly confState: ConfState;
}

/**
 * Read access to the persisted log. Entries `firstIndex()..lastIndex()` are present; the entry
 * before `firstIndex()` was compacted into the snapshot, whose term `term(firstIndex() - 1)`
 * still answers. An empty log has `firstIndex() === lastIndex() + 1`.
 */
export interface Storage {
  initialState(): InitialState;
  /**
   * Entries `[lo, hi)` with `firstIndex() <= lo < hi <= lastIndex() + 1`; fewer if their total
   * `entrySizeBytes` would exceed `maxBytes`, but always at least one. The core does not mutate them.
   */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[];
  /** The term of the entry at `index`, for `firstIndex() - 1 <= index <= lastIndex()`; `undefined` outside. */
  term(index: LogIndex): Term | undefined;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  /** The latest snapshot, or "temporarily-unavailable" while one is being made (the core retries later). */
  snapshot(): Snapshot | "temporarily-unavailable";
}
