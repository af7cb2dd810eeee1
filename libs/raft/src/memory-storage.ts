// The in-memory Storage: the reference implementation the tests, the simulator and the benchmark
// persist into, and the model for the registry's durable one.
import { bootstrapCluster } from "./bootstrap.ts";
import { emptyConfState, emptyHardState, limitEntriesSize } from "./entry.ts";
import type { ConfState, Entry, HardState, Snapshot } from "./entry.ts";
import type { LogIndex, Term } from "./ids.ts";
import type { InitialState, Storage } from "./storage.ts";

/** Why `MemoryStorage` refused an operation; each leaves the storage unchanged. */
export type MemoryStorageRejection = "snapshot-out-of-date" | "compacted" | "unavailable";

/** The result of a `MemoryStorage` write. */
export type MemoryStorageResult = { readonly ok: true } | { readonly ok: false; readonly reason: MemoryStorageRejection };

/** Options of a fresh `MemoryStorage` (at most one of them). */
export interface MemoryStorageOptions {
  /**
   * Founds a new cluster with these members (`bootstrapCluster`): the log starts with one
   * committed conf-change entry per member, which nodes added later replicate and apply too.
   */
  readonly bootstrap?: ConfState;
  /**
   * The membership as the metadata of the empty snapshot at index 0, in force from the start
   * without any log entry. Handy in tests; but a node added later cannot learn it from the log,
   * so clusters that grow by replication should use `bootstrap`.
   */
  readonly confState?: ConfState;
}

/**
 * A `Storage` in memory. The driver calls `append` with `ready.entries`, `setHardState` with
 * `ready.hardState` and `applySnapshot` with `ready.snapshot`, then `advance`. Compaction is the
 * driver's decision: `createSnapshot` at an applied index, then `compact`.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState;
  private snap: Snapshot;
  /** The entry at `offset` is entries[0]; the snapshot covers everything up to `offset - 1`. */
  private entriesList: Entry[] = [];
  private offset: number;
  /** The term of the entry at `offset - 1` (the last one compacted away, or 0). */
  private prevTerm: Term = 0 as Term;

  constructor(options: MemoryStorageOptions = {}) {
    if (options.bootstrap !== undefined && options.confState !== undefined) throw new RangeError("give either bootstrap or confState, not both");
    this.snap = { metadata: { index: 0 as LogIndex, term: 0 as Term, confState: options.confState ?? emptyConfState }, data: new Uint8Array(0) };
    this.offset = 1;
    if (options.bootstrap !== undefined) {
      const founded = bootstrapCluster(options.bootstrap);
      this.append(founded.entries);
      this.hardState = founded.hardState;
    }
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  /** Records the hard state of a `Ready` (persist it before sending that Ready's messages). */
  setHardState(state: HardState): void {
    this.hardState = state;
  }

  /** The hard state last recorded. */
  currentHardState(): HardState {
    return this.hardState;
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[] {
    if (lo < this.offset || hi > this.offset + this.entriesList.length || lo > hi) {
      throw new RangeError(`entries [${lo}, ${hi}) out of the stored range [${this.offset}, ${this.offset + this.entriesList.length})`);
    }
    return limitEntriesSize(this.entriesList.slice(lo - this.offset, hi - this.offset), maxBytes);
  }

  term(index: LogIndex): Term | undefined {
    if (index === this.offset - 1) return this.prevTerm;
    return this.entriesList[index - this.offset]?.term;
  }

  firstIndex(): LogIndex {
    return this.offset as LogIndex;
  }

  lastIndex(): LogIndex {
    return (this.offset + this.entriesList.length - 1) as LogIndex;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * Appends entries (from `ready.entries`), first dropping any stored entries at or after the
   * first new index: a new leader may overwrite an uncommitted tail (Raft §5.3). Entries
   * already compacted away are skipped. Entries must be contiguous and start at most at
   * `lastIndex() + 1`.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const last = this.offset + this.entriesList.length - 1;
    if (first.index > last + 1) throw new RangeError(`append at ${first.index} leaves a gap after the last stored index ${last}`);
    const skip = Math.max(0, this.offset - first.index);
    if (skip >= entries.length) return;
    const from = first.index + skip;
    if (from <= last) this.entriesList.length = from - this.offset;
    for (let i = skip; i < entries.length; i++) this.entriesList.push(entries[i] as Entry);
  }

  /** Replaces the whole log by a snapshot (from `ready.snapshot`); refused if not newer than the current one. */
  applySnapshot(snapshot: Snapshot): MemoryStorageResult {
    if (snapshot.metadata.index <= this.snap.metadata.index) return { ok: false, reason: "snapshot-out-of-date" };
    this.snap = snapshot;
    this.entriesList = [];
    this.offset = snapshot.metadata.index + 1;
    this.prevTerm = snapshot.metadata.term;
    return { ok: true };
  }

  /**
   * Records a snapshot of the state machine as of the applied entry `index`, with the membership
   * in force there; the log is kept until `compact`. Refused at or below the current snapshot
   * ("snapshot-out-of-date") or past the last entry ("unavailable").
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): MemoryStorageResult {
    if (index <= this.snap.metadata.index) return { ok: false, reason: "snapshot-out-of-date" };
    const entryTerm = this.term(index);
    if (entryTerm === undefined) return { ok: false, reason: "unavailable" };
    this.snap = { metadata: { index, term: entryTerm, confState }, data };
    return { ok: true };
  }

  /**
   * Discards the entries up to and including `index`, which a snapshot must already cover
   * (call `createSnapshot` first). Refused below the first index ("compacted") or past the
   * snapshot ("unavailable").
   */
  compact(index: LogIndex): MemoryStorageResult {
    if (index < this.offset) return { ok: false, reason: "compacted" };
    if (index > this.snap.metadata.index) return { ok: false, reason: "unavailable" };
    this.prevTerm = this.term(index) as Term;
    this.entriesList = this.entriesList.slice(index + 1 - this.offset);
    this.offset = index + 1;
    return { ok: true };
  }
}
