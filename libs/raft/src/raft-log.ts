// The node's view of its log: the persisted part (Storage) followed by the unstable tail, with the
// commit and apply cursors. All log-matching rules of Raft §5.3 and the up-to-date check of
// §5.4.1 live here.
import { entrySizeBytes, limitEntriesSize } from "./entry.ts";
import type { Entry, Snapshot } from "./entry.ts";
import type { LogIndex, Term } from "./ids.ts";
import type { Storage } from "./storage.ts";
import { UnstableLog } from "./unstable-log.ts";

/** The persisted log plus the unstable tail, with `applied <= applying <= committed <= lastIndex()`. */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  /** The highest index known to be committed (Raft §5.3). */
  committed: LogIndex;
  /** The highest index handed to the driver to apply (in a `Ready` not yet advanced). */
  applying: LogIndex;
  /** The highest index the driver has applied. */
  applied: LogIndex;
  /** The byte budget of committed entries per `Ready`. */
  readonly maxApplyingBytes: number;

  constructor(storage: Storage, maxApplyingBytes: number) {
    this.storage = storage;
    this.maxApplyingBytes = maxApplyingBytes;
    const first = storage.firstIndex();
    this.unstable = new UnstableLog((storage.lastIndex() + 1) as LogIndex);
    this.committed = (first - 1) as LogIndex;
    this.applying = this.committed;
    this.applied = this.committed;
  }

  firstIndex(): LogIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term at `index` for `firstIndex() - 1 <= index <= lastIndex()`, else `undefined` (compacted or absent). */
  term(index: LogIndex): Term | undefined {
    const held = this.unstable.maybeTerm(index);
    if (held !== undefined) return held;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  lastTerm(): Term {
    const last = this.term(this.lastIndex());
    if (last === undefined) throw new Error(`no term for the last index ${this.lastIndex()}`);
    return last;
  }

  /** Whether the log holds an entry at `index` with `entryTerm` (index 0 with term 0 always matches). */
  matchTerm(index: LogIndex, entryTerm: Term): boolean {
    return this.term(index) === entryTerm;
  }

  /**
   * Whether a log ending at (`index`, `lastTerm`) is at least as up-to-date as this one: a later
   * last term wins, equal last terms compare length (Raft §5.4.1).
   */
  isUpToDate(index: LogIndex, lastTerm: Term): boolean {
    const ownTerm = this.lastTerm();
    return lastTerm > ownTerm || (lastTerm === ownTerm && index >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries (Raft §5.3): if the log has (`prevIndex`, `prevTerm`), drops
   * any conflicting suffix, appends what is new, advances the commit index to
   * min(`leaderCommit`, last new index) and returns that last new index; otherwise `undefined`.
   */
  maybeAppend(prevIndex: LogIndex, prevTerm: Term, leaderCommit: LogIndex, entries: readonly Entry[]): LogIndex | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = (prevIndex + entries.length) as LogIndex;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`entry ${conflict} conflicts with a committed entry (committed ${this.committed})`);
      }
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNew) as LogIndex);
    return lastNew;
  }

  /**
   * The index of the first entry of `entries` that is absent from the log or has another term
   * there, or 0 when the log already holds all of them.
   */
  findConflict(entries: readonly Entry[]): number {
    const last = this.lastIndex();
    for (const entry of entries) {
      if (entry.index > last || !this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The last index `<= index` whose term is `<= entryTerm`, with that term: where the log can
   * first agree with a log that has `entryTerm` at `index` (thesis §5.3's faster backtracking).
   * Stops at the first compacted index, answering term 0 there.
   */
  findConflictByTerm(index: LogIndex, entryTerm: Term): { index: LogIndex; term: Term } {
    for (let i = index; ; i--) {
      const t = this.term(i as LogIndex);
      if (t === undefined) return { index: i as LogIndex, term: 0 as Term };
      if (t <= entryTerm) return { index: i as LogIndex, term: t };
    }
  }

  /** Appends contiguous entries after the committed prefix, truncating a conflicting tail; returns the new last index. */
  append(entries: readonly Entry[]): LogIndex {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new Error(`append after ${first.index - 1} would overwrite committed entries (committed ${this.committed})`);
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Entries from `lo` to the end, within `maxBytes` (at least one); `undefined` if `lo` is compacted. */
  entriesFrom(lo: LogIndex, maxBytes: number): readonly Entry[] | undefined {
    const last = this.lastIndex();
    if (lo > last) return [];
    return this.slice(lo, (last + 1) as LogIndex, maxBytes);
  }

  /** Entries `[lo, hi)` within `maxBytes` (at least one if non-empty); `undefined` if `lo` is compacted. */
  slice(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    if (hi > this.lastIndex() + 1) throw new RangeError(`slice [${lo}, ${hi}) past the last index ${this.lastIndex()}`);
    if (lo === hi) return [];
    const offset = this.unstable.offset;
    if (lo >= offset) return limitEntriesSize(this.unstable.slice(lo, hi), maxBytes);
    const stored = this.storage.entries(lo, Math.min(hi, offset) as LogIndex, maxBytes);
    if (hi <= offset || stored.length < Math.min(hi, offset) - lo) return stored;
    const result = stored.slice();
    let size = 0;
    for (const entry of stored) size += entrySizeBytes(entry);
    for (const entry of this.unstable.slice(offset, hi)) {
      size += entrySizeBytes(entry);
      if (size > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  /** Advances the commit index (never backwards); committing past the last index is a broken invariant. */
  commitTo(index: LogIndex): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) throw new Error(`commit ${index} is past the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /**
   * Leader side: commits `index` only if its entry has the leader's `currentTerm`. Entries of
   * earlier terms are never committed by counting replicas, only along with a current-term entry
   * after them (Raft §5.4.2).
   */
  maybeCommit(index: LogIndex, currentTerm: Term): boolean {
    if (index > this.committed && this.term(index) === currentTerm) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  /** Records that the driver applied everything up to `index`. */
  appliedTo(index: LogIndex): void {
    if (index > this.committed || index < this.applied) {
      throw new Error(`applied ${index} out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
    if (this.applying < index) this.applying = index;
  }

  /** Whether committed entries wait to be handed out (none while a snapshot is still to be persisted). */
  hasNextCommittedEntries(): boolean {
    return this.unstable.snapshot === null && this.committed > this.applying;
  }

  /** The next committed entries to apply, within `maxApplyingBytes` (at least one). */
  nextCommittedEntries(): readonly Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const lo = (this.applying + 1) as LogIndex;
    const entries = this.slice(lo, (this.committed + 1) as LogIndex, this.maxApplyingBytes);
    if (entries === undefined) throw new Error(`committed entries from ${lo} were compacted before they were applied (first index ${this.firstIndex()})`);
    return entries;
  }

  /** The latest snapshot: the unstable one if any, else the storage's. */
  snapshot(): Snapshot | "temporarily-unavailable" {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with a snapshot (follower side of InstallSnapshot, Raft §7). */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** Whether a snapshot is waiting to be persisted and applied. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  /** Unpersisted entries, for `Ready.entries`. */
  unstableEntries(): readonly Entry[] {
    return this.unstable.entries.slice();
  }

  /** Marks entries up to (`index`, `entryTerm`) persisted; the storage must hold them by now. */
  stableTo(index: LogIndex, entryTerm: Term): void {
    const before = this.unstable.offset;
    this.unstable.stableTo(index, entryTerm);
    if (this.unstable.offset > before && this.storage.lastIndex() < index) {
      throw new Error(`entries up to ${index} were advanced but the storage ends at ${this.storage.lastIndex()}: persist ready.entries before advance()`);
    }
  }

  /** Marks a snapshot persisted and applied. */
  stableSnapTo(index: LogIndex): void {
    this.unstable.stableSnapTo(index);
    if (this.applied < index) this.applied = index;
    if (this.applying < index) this.applying = index;
  }
}
