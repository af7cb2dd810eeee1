// The tail of the log that is not yet persisted: entries (and at most one incoming snapshot) the
// core has accepted but the driver has not yet confirmed through `advance`.
import type { Entry, Snapshot } from "./entry.ts";
import type { LogIndex, Term } from "./ids.ts";

/** Unpersisted entries starting at `offset`, possibly preceded by an unpersisted snapshot. */
export class UnstableLog {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** The index of `entries[0]` (or where the next entry goes when empty). */
  offset: LogIndex;

  constructor(offset: LogIndex) {
    this.offset = offset;
  }

  /** The first index if a snapshot is pending (the entry after it), else `undefined`. */
  maybeFirstIndex(): LogIndex | undefined {
    return this.snapshot === null ? undefined : ((this.snapshot.metadata.index + 1) as LogIndex);
  }

  /** The last index held here (entry or snapshot), else `undefined`. */
  maybeLastIndex(): LogIndex | undefined {
    if (this.entries.length > 0) return (this.offset + this.entries.length - 1) as LogIndex;
    return this.snapshot === null ? undefined : this.snapshot.metadata.index;
  }

  /** The term of `index` if it is held here, else `undefined`. */
  maybeTerm(index: LogIndex): Term | undefined {
    if (index < this.offset) {
      const snap = this.snapshot;
      return snap !== null && snap.metadata.index === index ? snap.metadata.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Drops entries up to `index` once persisted, unless they were since replaced (their term differs). */
  stableTo(index: LogIndex, entryTerm: Term): void {
    const held = this.entries[index - this.offset];
    if (index < this.offset || held === undefined || held.term !== entryTerm) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = (index + 1) as LogIndex;
  }

  /** Drops the snapshot once persisted. */
  stableSnapTo(index: LogIndex): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) this.snapshot = null;
  }

  /** Replaces everything by an incoming snapshot. */
  restore(snapshot: Snapshot): void {
    this.offset = (snapshot.metadata.index + 1) as LogIndex;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends contiguous entries, dropping any held entries at or after the first new index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const from = first.index;
    if (from === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (from <= this.offset) {
      // Replaces everything held; the storage will truncate its own suffix when this is persisted.
      this.offset = from;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, from - this.offset);
      for (const entry of entries) this.entries.push(entry);
    }
  }

  /** The held entries `[lo, hi)`; the caller checks the bounds. */
  slice(lo: LogIndex, hi: LogIndex): Entry[] {
    if (lo < this.offset || hi > this.offset + this.entries.length || lo > hi) {
      throw new RangeError(`unstable slice [${lo}, ${hi}) out of [${this.offset}, ${this.offset + this.entries.length})`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
