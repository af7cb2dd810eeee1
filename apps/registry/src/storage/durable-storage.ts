// The registry's Raft storage on disk: libs/raft's `Storage` served from an in-memory copy of
// the log (like etcd's MemoryStorage over its WAL), with every change written to the WAL and
// snapshot files first. `save(ready)` is the driver's persist step (Raft §5.1, thesis §3.8).
import { bootstrapCluster, emptyConfState, emptyHardState, entrySizeBytes } from "@meshwork/raft";
import type { ConfState, Entry, HardState, InitialState, LogIndex, Ready, Snapshot, Storage, Term } from "@meshwork/raft";
import { readSnapshotFile, removeSnapshotFilesBefore, writeSnapshotFile } from "./snapshot-file.ts";
import { Wal, WalCorruptionError } from "./wal.ts";
import type { WalOptions } from "./wal.ts";
import type { WalRecord } from "./wal-record.ts";
import { nodeWalFs } from "./wal-fs.ts";

/** Options of `DurableStorage.open`. */
export interface DurableStorageOptions extends WalOptions {
  /** Founds a new cluster with these members when the directory holds no log yet (`bootstrapCluster`). */
  readonly bootstrap?: ConfState;
}

/** The part of a `Ready` that is persisted. */
export type ReadyToSave = Pick<Ready, "snapshot" | "entries" | "hardState" | "mustSync">;

function limitEntries(entries: readonly Entry[], maxBytes: number): readonly Entry[] {
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    size += entrySizeBytes(entries[i] as Entry);
    if (i > 0 && size > maxBytes) return entries.slice(0, i);
  }
  return entries;
}

/**
 * A durable `Storage`. Reads never touch the disk; writes go to the WAL (and snapshot files)
 * before the in-memory copy changes, so what it serves is what a restart will find.
 */
export class DurableStorage implements Storage {
  private readonly wal: Wal;
  private readonly dir: string;
  private readonly options: DurableStorageOptions;
  private hardState: HardState = emptyHardState;
  private snap: Snapshot;
  /** The entry at `offset` is entriesList[0]; the snapshot covers everything before `offset`. */
  private entriesList: Entry[] = [];
  private offset: number;
  private prevTerm: Term;

  private constructor(dir: string, wal: Wal, options: DurableStorageOptions, snap: Snapshot) {
    this.dir = dir;
    this.wal = wal;
    this.options = options;
    this.snap = snap;
    this.offset = snap.metadata.index + 1;
    this.prevTerm = snap.metadata.term;
  }

  /**
   * Opens the storage in `dir`, replaying the WAL (see `Wal.open` for torn tails and corruption).
   * Throws `WalCorruptionError` if the log is damaged or refers to a missing snapshot.
   */
  static open(dir: string, options: DurableStorageOptions = {}): DurableStorage {
    const fs = options.fs ?? nodeWalFs;
    const { wal, records } = Wal.open(dir, options);
    // Snapshot markers only move forward, so the last one is the base every entry replays onto.
    let base: { index: LogIndex; term: Term } = { index: 0 as LogIndex, term: 0 as Term };
    for (const record of records) if (record.type === "snapshot-applied" || record.type === "snapshot-compacted") base = { index: record.index, term: record.term };
    let snap: Snapshot = { metadata: { index: 0 as LogIndex, term: 0 as Term, confState: emptyConfState }, data: new Uint8Array(0) };
    if (base.index > 0) {
      try {
        snap = readSnapshotFile(fs, dir, base.term, base.index);
      } catch (error) {
        wal.close();
        throw new WalCorruptionError(error instanceof Error ? error.message : String(error));
      }
    }
    const storage = new DurableStorage(dir, wal, options, snap);
    try {
      storage.replay(records);
    } catch (error) {
      wal.close();
      throw error;
    }
    if (records.length === 0 && options.bootstrap !== undefined) {
      const founded = bootstrapCluster(options.bootstrap);
      storage.save({ entries: founded.entries, hardState: founded.hardState, mustSync: true });
    }
    return storage;
  }

  private replay(records: readonly WalRecord[]): void {
    for (const record of records) {
      switch (record.type) {
        case "entry": {
          const { entry } = record;
          if (entry.index < this.offset) break;
          if (entry.index > this.offset + this.entriesList.length) {
            throw new WalCorruptionError(`WAL in ${this.dir} jumps to entry ${entry.index} after ${this.offset + this.entriesList.length - 1}; restore this node's data directory from a peer`);
          }
          this.entriesList.length = entry.index - this.offset;
          this.entriesList.push(entry);
          break;
        }
        case "hard-state":
          this.hardState = record.hardState;
          break;
        case "snapshot-applied":
          this.entriesList = [];
          break;
        case "snapshot-compacted":
          break;
      }
    }
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  /** The hard state last saved. */
  currentHardState(): HardState {
    return this.hardState;
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[] {
    if (lo < this.offset || hi > this.offset + this.entriesList.length || lo > hi) {
      throw new RangeError(`entries [${lo}, ${hi}) out of the stored range [${this.offset}, ${this.offset + this.entriesList.length})`);
    }
    return limitEntries(this.entriesList.slice(lo - this.offset, hi - this.offset), maxBytes);
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
   * The driver's persist step for one `Ready`: the snapshot (file, then a WAL marker), the
   * entries (an entry at index i replaces the stored log from i, Raft §5.3) and the hard state,
   * in one WAL write and — if `mustSync` or a snapshot came — one fdatasync. Throws if the disk
   * refuses; then nothing of this Ready is served and the messages must not be sent.
   */
  save(ready: ReadyToSave): void {
    const snapshot = ready.snapshot !== undefined && ready.snapshot.metadata.index > this.snap.metadata.index ? ready.snapshot : undefined;
    const records: WalRecord[] = [];
    if (snapshot !== undefined) {
      writeSnapshotFile(this.options.fs ?? nodeWalFs, this.dir, snapshot);
      records.push({ type: "snapshot-applied", index: snapshot.metadata.index, term: snapshot.metadata.term });
    }
    const skipBelow = snapshot === undefined ? this.offset : snapshot.metadata.index + 1;
    const fresh = ready.entries.filter((entry) => entry.index >= skipBelow);
    const first = fresh[0];
    if (first !== undefined && first.index > (snapshot === undefined ? this.offset + this.entriesList.length : skipBelow)) {
      throw new RangeError(`append at ${first.index} leaves a gap after the last stored index ${this.lastIndex()}`);
    }
    for (const entry of fresh) records.push({ type: "entry", entry });
    const hardState = ready.hardState ?? this.hardState;
    // An applied snapshot is a synced write: it also carries the current hard state (see README).
    if (ready.hardState !== undefined || snapshot !== undefined) records.push({ type: "hard-state", hardState });
    this.wal.append(records);
    if (ready.mustSync || snapshot !== undefined) this.wal.sync();
    if (snapshot !== undefined) {
      this.snap = snapshot;
      this.entriesList = [];
      this.offset = snapshot.metadata.index + 1;
      this.prevTerm = snapshot.metadata.term;
    }
    if (first !== undefined) {
      this.entriesList.length = first.index - this.offset;
      for (const entry of fresh) this.entriesList.push(entry);
    }
    this.hardState = hardState;
    if (snapshot !== undefined) this.removeCovered(snapshot.metadata.index);
    this.rollIfFull();
  }

  private rollIfFull(): void {
    if (!this.wal.isFull()) return;
    this.wal.roll([
      { type: "snapshot-compacted", index: this.snap.metadata.index, term: this.snap.metadata.term },
      { type: "hard-state", hardState: this.hardState },
    ]);
  }

  private removeCovered(index: LogIndex): void {
    this.wal.removeSegmentsUpTo(index);
    removeSnapshotFilesBefore(this.options.fs ?? nodeWalFs, this.dir, this.snap.metadata.index);
  }

  /**
   * Writes a snapshot of the state machine at the applied entry `index` with membership
   * `confState`, then compacts the log up to it: the WAL records the new base and the current
   * hard state with one fdatasync (so a commit left unsynced cannot end up below the snapshot),
   * and segments wholly covered by it are deleted. Returns false if `index` is not above the
   * current snapshot or not in the log.
   */
  createSnapshotAndCompact(index: LogIndex, confState: ConfState, data: Uint8Array): boolean {
    const entryTerm = this.term(index);
    if (index <= this.snap.metadata.index || entryTerm === undefined) return false;
    const snapshot: Snapshot = { metadata: { index, term: entryTerm, confState }, data };
    writeSnapshotFile(this.options.fs ?? nodeWalFs, this.dir, snapshot);
    this.wal.append([
      { type: "snapshot-compacted", index, term: entryTerm },
      { type: "hard-state", hardState: this.hardState },
    ]);
    this.wal.sync();
    this.snap = snapshot;
    this.entriesList = this.entriesList.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.prevTerm = entryTerm;
    this.removeCovered(index);
    this.rollIfFull();
    return true;
  }

  /** The WAL segment files, oldest first (for tests and metrics). */
  segmentPaths(): readonly string[] {
    return this.wal.segmentPaths();
  }

  /** Syncs and closes the WAL. */
  close(): void {
    this.wal.sync();
    this.wal.close();
  }
}
