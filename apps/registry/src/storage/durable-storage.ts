// The registry's Raft storage on disk: libs/raft's `Storage` served from a `MemoryStorage`
// (as etcd keeps a MemoryStorage over its WAL), with every change written to the WAL and
// snapshot files first. `save(ready)` is the driver's persist step (Raft §5.1, thesis §3.8).
import { bootstrapCluster, emptyConfState, emptyHardState, MemoryStorage } from "@meshwork/raft";
import type { ConfState, Entry, HardState, InitialState, LogIndex, MemoryStorageResult, Ready, Snapshot, Storage, Term } from "@meshwork/raft";
import { readSnapshotFile, removeSnapshotFilesBefore, SnapshotFileWriter, writeSnapshotFile } from "./snapshot-file.ts";
import { Wal, WalCorruptionError } from "./wal.ts";
import type { WalOptions } from "./wal.ts";
import type { WalRecord } from "./wal-record.ts";
import { nodeWalFs } from "./wal-fs.ts";

/** Options of `DurableStorage.open`. */
export interface DurableStorageOptions extends WalOptions {
  /** Founds a new cluster with these members when the directory holds no log yet (`bootstrapCluster`). */
  readonly bootstrap?: ConfState;
  /**
   * Entries kept in memory below a new local snapshot (etcd's SnapshotCatchUpEntries; default 0:
   * the log is compacted up to the snapshot). A follower a little behind at the snapshot then gets
   * entries, not the whole state (which the leader reads from the snapshot file — tens of MB at
   * 100k keys — and may send for nothing if the follower catches up meanwhile). The WAL still
   * drops every segment the snapshot covers, so after a restart the log starts after the snapshot.
   */
  readonly catchUpEntries?: number;
}

/** The part of a `Ready` that is persisted. */
export type ReadyToSave = Pick<Ready, "snapshot" | "entries" | "hardState" | "mustSync">;

/** The in-memory copy refused a write the WAL already holds: a bug here, not a disk fault. */
function mustAccept(result: MemoryStorageResult, operation: string): void {
  if (!result.ok) throw new Error(`DurableStorage: MemoryStorage refused ${operation} (${result.reason}) after the WAL recorded it`);
}

/** A Ready written to the WAL and not yet served (see `DurableStorage.write`). */
interface WrittenReady {
  readonly snapshot: Snapshot | undefined;
  readonly fresh: readonly Entry[];
  readonly hardState: HardState;
  readonly sync: boolean;
}

const noData = new Uint8Array(0);

/** `snap` without its state-machine bytes: the in-memory copy keeps only the metadata (the file has the rest). */
function withoutData(snap: Snapshot): Snapshot {
  return snap.data.byteLength === 0 ? snap : { metadata: snap.metadata, data: noData };
}

/** Adds a snapshot's state-machine bytes in chunks; `finish` writes it and compacts the log (see `DurableStorage.beginSnapshot`). */
export interface SnapshotBuilder {
  add(chunk: Uint8Array): void;
  /**
   * Once every chunk is added: makes the file's bytes durable off the event loop (saves may go on
   * meanwhile), so that `finish` has only a rename and the WAL marker left. Optional: `finish`
   * syncs what was not flushed. `done` gets the disk's error, if any (then `abort`).
   */
  flush(done: (error: Error | null) => void): void;
  /** Drops an unfinished snapshot (its temp file). */
  abort(): void;
  /** False if the snapshot is no longer above the stored one (a leader's snapshot came meanwhile). */
  finish(): boolean;
  readonly dataBytes: number;
}

/** A `MemoryStorage` holding just `snap` (the empty one at index 0 if none was taken yet) and `hardState`. */
function memoryOver(snap: Snapshot, hardState: HardState): MemoryStorage {
  const memory = new MemoryStorage();
  if (snap.metadata.index > 0) mustAccept(memory.applySnapshot(withoutData(snap)), `the snapshot at ${snap.metadata.index}`);
  memory.setHardState(hardState);
  return memory;
}

/**
 * A durable `Storage`. Reads never touch the disk; writes go to the WAL (and snapshot files)
 * before the in-memory copy changes, so what it serves is what a restart will find.
 */
export class DurableStorage implements Storage {
  private readonly wal: Wal;
  private readonly dir: string;
  private readonly options: DurableStorageOptions;
  /** What the WAL and snapshot files hold, served to Raft; changed only after they are written. */
  private memory: MemoryStorage;
  /**
   * A hard state that only moved the commit index was not written: the next synced write, a
   * snapshot's records, a roll or `close` carries the current one. Raft needs term and vote on
   * disk, not the commit index (a restarted node learns it again), and such a write was one system
   * call per write on every node (etcd buffers these records until its next sync too).
   */
  private hardStateUnwritten = false;

  private constructor(dir: string, wal: Wal, options: DurableStorageOptions, memory: MemoryStorage) {
    this.dir = dir;
    this.wal = wal;
    this.options = options;
    this.memory = memory;
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
    let storage: DurableStorage;
    try {
      storage = new DurableStorage(dir, wal, options, memoryOver(snap, emptyHardState));
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
          if (entry.index < this.memory.firstIndex()) break;
          if (entry.index > this.memory.lastIndex() + 1) {
            throw new WalCorruptionError(`WAL in ${this.dir} jumps to entry ${entry.index} after ${this.memory.lastIndex()}; restore this node's data directory from a peer`);
          }
          // An entry at index i replaces the stored log from i (Raft §5.3).
          this.memory.append([entry]);
          break;
        }
        case "hard-state":
          this.memory.setHardState(record.hardState);
          break;
        case "snapshot-applied":
          // The snapshot replaced the whole log: drop what came before, keep the base and hard state.
          this.memory = memoryOver(this.memory.snapshot(), this.memory.currentHardState());
          break;
        case "snapshot-compacted":
          break;
      }
    }
  }

  initialState(): InitialState {
    return this.memory.initialState();
  }

  /** The hard state last saved. */
  currentHardState(): HardState {
    return this.memory.currentHardState();
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[] {
    return this.memory.entries(lo, hi, maxBytes);
  }

  term(index: LogIndex): Term | undefined {
    return this.memory.term(index);
  }

  firstIndex(): LogIndex {
    return this.memory.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.memory.lastIndex();
  }

  /**
   * The last snapshot. Its state-machine bytes are read from the snapshot file on each call (the
   * node needs them at start and the leader to catch up a follower): they are not kept in memory.
   */
  snapshot(): Snapshot {
    const { metadata } = this.memory.snapshot();
    if (metadata.index === 0) return this.memory.snapshot();
    return readSnapshotFile(this.options.fs ?? nodeWalFs, this.dir, metadata.term, metadata.index);
  }

  /**
   * The driver's persist step for one `Ready`: the snapshot (file, then a WAL marker), the
   * entries (an entry at index i replaces the stored log from i, Raft §5.3) and the hard state,
   * in one WAL write and — if `mustSync` or a snapshot came — one fdatasync. Throws if the disk
   * refuses; then nothing of this Ready is served and the messages must not be sent.
   */
  save(ready: ReadyToSave): void {
    const written = this.write(ready);
    if (written.sync) this.wal.sync();
    this.settle(written);
  }

  /**
   * `save` with the fdatasync off the event loop, so the node keeps serving (and a leader's appends
   * travel) while the disk works: the WAL write happens now (and throws now if the disk refuses
   * it), `done` runs once the Ready is durable — only then does the storage serve it — or with the
   * fdatasync's error. Nothing else may be saved, snapshotted or closed until `done` ran.
   */
  saveAsync(ready: ReadyToSave, done: (error: Error | null) => void): void {
    const written = this.write(ready);
    if (!written.sync) {
      this.settle(written);
      queueMicrotask(() => done(null));
      return;
    }
    this.wal.syncAsync((error) => {
      if (error !== null) {
        done(error);
        return;
      }
      try {
        this.settle(written);
      } catch (settleError) {
        done(settleError instanceof Error ? settleError : new Error(String(settleError)));
        return;
      }
      done(null);
    });
  }

  /** The WAL half of `save`: snapshot file and records written, not synced, nothing served yet. */
  private write(ready: ReadyToSave): WrittenReady {
    const snapshot = ready.snapshot !== undefined && ready.snapshot.metadata.index > this.memory.snapshot().metadata.index ? ready.snapshot : undefined;
    const records: WalRecord[] = [];
    if (snapshot !== undefined) {
      writeSnapshotFile(this.options.fs ?? nodeWalFs, this.dir, snapshot);
      records.push({ type: "snapshot-applied", index: snapshot.metadata.index, term: snapshot.metadata.term });
    }
    const skipBelow = snapshot === undefined ? this.memory.firstIndex() : snapshot.metadata.index + 1;
    const fresh = ready.entries.filter((entry) => entry.index >= skipBelow);
    const first = fresh[0];
    if (first !== undefined && first.index > (snapshot === undefined ? this.memory.lastIndex() + 1 : skipBelow)) {
      throw new RangeError(`append at ${first.index} leaves a gap after the last stored index ${this.lastIndex()}`);
    }
    for (const entry of fresh) records.push({ type: "entry", entry });
    const hardState = ready.hardState ?? this.memory.currentHardState();
    const sync = ready.mustSync || snapshot !== undefined;
    if (!sync && fresh.length === 0) {
      // Only the commit index moved (a new term or vote is a synced write): see hardStateUnwritten.
      if (ready.hardState !== undefined) this.hardStateUnwritten = true;
      return { snapshot, fresh, hardState, sync };
    }
    // An applied snapshot is a synced write: it also carries the current hard state (see README).
    if (ready.hardState !== undefined || snapshot !== undefined || this.hardStateUnwritten) records.push({ type: "hard-state", hardState });
    this.wal.append(records);
    this.hardStateUnwritten = false;
    return { snapshot, fresh, hardState, sync };
  }

  /** The serving half of `save`, once the WAL holds (and, if needed, synced) the Ready. */
  private settle({ snapshot, fresh, hardState }: WrittenReady): void {
    if (snapshot !== undefined) mustAccept(this.memory.applySnapshot(withoutData(snapshot)), `the snapshot at ${snapshot.metadata.index}`);
    // Checked above to leave no gap; an entry at index i replaces the stored log from i (Raft §5.3).
    this.memory.append(fresh);
    this.memory.setHardState(hardState);
    if (snapshot !== undefined) this.removeCovered(snapshot.metadata.index);
    this.rollIfFull();
  }

  private rollIfFull(): void {
    if (!this.wal.isFull()) return;
    const { metadata } = this.memory.snapshot();
    this.wal.roll([
      { type: "snapshot-compacted", index: metadata.index, term: metadata.term },
      { type: "hard-state", hardState: this.memory.currentHardState() },
    ]);
    this.hardStateUnwritten = false;
  }

  private removeCovered(index: LogIndex): void {
    this.wal.removeSegmentsUpTo(index);
    removeSnapshotFilesBefore(this.options.fs ?? nodeWalFs, this.dir, this.memory.snapshot().metadata.index);
  }

  /**
   * Writes a snapshot of the state machine at the applied entry `index` with membership
   * `confState`, then compacts the log up to it: the WAL records the new base and the current
   * hard state with one fdatasync (so a commit left unsynced cannot end up below the snapshot),
   * and segments wholly covered by it are deleted. Returns false if `index` is not above the
   * current snapshot or not in the log.
   */
  createSnapshotAndCompact(index: LogIndex, confState: ConfState, data: Uint8Array): boolean {
    const builder = this.beginSnapshot(index, confState);
    if (builder === null) return false;
    builder.add(data);
    return builder.finish();
  }

  /**
   * `createSnapshotAndCompact` with the state-machine bytes given in chunks, which the caller may
   * produce over several event-loop turns (saves may go on meanwhile; `finish` must not run while
   * a `saveAsync` is in flight). Null if `index` is not above the current snapshot or not in the log.
   */
  beginSnapshot(index: LogIndex, confState: ConfState): SnapshotBuilder | null {
    const entryTerm = this.term(index);
    if (index <= this.memory.snapshot().metadata.index || entryTerm === undefined) return null;
    // Streamed to its temp file chunk by chunk: the whole state is never held in memory.
    const writer = new SnapshotFileWriter({ index, term: entryTerm, confState }, { fs: this.options.fs ?? nodeWalFs, dir: this.dir });
    return {
      add: (chunk) => writer.add(chunk),
      flush: (done) => writer.flush(done),
      get dataBytes() {
        return writer.dataBytes;
      },
      abort: () => writer.abort(),
      finish: () => {
        if (index <= this.memory.snapshot().metadata.index || this.term(index) !== entryTerm) {
          writer.abort();
          return false;
        }
        writer.finish(this.options.fs ?? nodeWalFs, this.dir);
        this.wal.append([
          { type: "snapshot-compacted", index, term: entryTerm },
          { type: "hard-state", hardState: this.memory.currentHardState() },
        ]);
        this.wal.sync();
        this.hardStateUnwritten = false;
        mustAccept(this.memory.createSnapshot(index, confState, noData), `a snapshot at ${index}`);
        const compactTo = (index - (this.options.catchUpEntries ?? 0)) as LogIndex;
        if (compactTo >= this.memory.firstIndex()) mustAccept(this.memory.compact(compactTo), `compaction up to ${compactTo}`);
        this.removeCovered(index);
        this.rollIfFull();
        return true;
      },
    };
  }

  /** The WAL segment files, oldest first (for tests and metrics). */
  segmentPaths(): readonly string[] {
    return this.wal.segmentPaths();
  }

  /** Writes the current hard state if it was not yet, syncs and closes the WAL. */
  close(): void {
    if (this.hardStateUnwritten) this.wal.append([{ type: "hard-state", hardState: this.memory.currentHardState() }]);
    this.hardStateUnwritten = false;
    this.wal.sync();
    this.wal.close();
  }
}
