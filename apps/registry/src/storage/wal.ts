// The segmented write-ahead log: records appended to `<seq>.wal` files, fdatasync'ed once per
// batch (group commit), a new segment when one is full, prefix segments deleted after
// compaction. The current segment is extended ahead of its records (as etcd preallocates), so an
// fdatasync after an append flushes the data alone, not a new file size too. Opening it replays
// every segment, cuts off a torn tail (and the zeros of the extension) and refuses corruption.
import { decodeRecords, recordBytes, writeRecord } from "./wal-record.ts";
import type { WalRecord } from "./wal-record.ts";
import { nodeWalFs, writeAllAt } from "./wal-fs.ts";
import type { WalFs } from "./wal-fs.ts";

/** Options of `Wal.open`. */
export interface WalOptions {
  /** A segment is closed and a new one started once it reaches this size (default 64 MiB). */
  readonly segmentBytes?: number;
  /**
   * How far the current segment's file is extended beyond its records whenever a write would pass
   * its end (default 4 MiB; 0: the file grows by each write). The extension is sparse: nothing is
   * written, reads give zeros. On ext4 an fdatasync that must also record a new file size costs a
   * journal commit — here 0.05–0.07 ms more per sync and 15–40 µs more CPU — so with it nearly every
   * sync is of the data alone.
   */
  readonly preallocateBytes?: number;
  readonly fs?: WalFs;
}

/** The WAL refused to open: data that had been synced is damaged or missing. */
export class WalCorruptionError extends Error {
  override readonly name = "WalCorruptionError";
  /** A stable code for logs and metrics. */
  readonly code = "wal-corrupt";
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** The highest entry index written into this segment (0 if none). */
  maxEntryIndex: number;
}

const segmentPattern = /^([0-9a-f]{16})\.wal$/;

function segmentName(seq: number): string {
  return `${seq.toString(16).padStart(16, "0")}.wal`;
}

function maxEntryIndexOf(records: readonly WalRecord[]): number {
  let max = 0;
  for (const record of records) if (record.type === "entry" && record.entry.index > max) max = record.entry.index;
  return max;
}

/** The largest write buffer `append` keeps between writes. */
const maxScratchBytes = 256 * 1024;

/** A write-ahead log open for appending, with the records it recovered. */
export class Wal {
  private readonly fs: WalFs;
  private readonly dir: string;
  private readonly segmentBytes: number;
  private readonly preallocateBytes: number;
  private readonly segments: Segment[];
  private fd: number;
  /** Where the records of the current segment end: the next write's position. */
  private sizeBytes: number;
  /** The current segment file's length: `sizeBytes` plus the zeros of the extension. */
  private allocatedBytes: number;
  /** Set when a failed write could not be rolled back; every later write is refused. */
  private broken: string | null = null;
  /** Reused by `append` for the bytes of each write. */
  private scratch = new Uint8Array(16 * 1024);

  private constructor(fs: WalFs, dir: string, options: WalOptions, segments: Segment[], fd: number, sizeBytes: number) {
    this.fs = fs;
    this.dir = dir;
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.preallocateBytes = options.preallocateBytes ?? 4 * 1024 * 1024;
    this.segments = segments;
    this.fd = fd;
    this.sizeBytes = sizeBytes;
    this.allocatedBytes = sizeBytes;
  }

  /**
   * Opens (creating if needed) the WAL in `dir` and replays it. A torn last record of the last
   * segment is cut off (it was never acknowledged), and with it the zeros of the segment's
   * extension; anything else damaged throws `WalCorruptionError`.
   */
  static open(dir: string, options: WalOptions = {}): { readonly wal: Wal; readonly records: readonly WalRecord[] } {
    const fs = options.fs ?? nodeWalFs;
    fs.mkdirSync(dir);
    const seqs = fs
      .readdirSync(dir)
      .map((name) => segmentPattern.exec(name))
      .filter((match) => match !== null)
      .map((match) => parseInt(match[1] as string, 16))
      .sort((a, b) => a - b);
    const records: WalRecord[] = [];
    const segments: Segment[] = [];
    for (const [i, seq] of seqs.entries()) {
      const path = `${dir}/${segmentName(seq)}`;
      const previous = seqs[i - 1];
      if (previous !== undefined && seq !== previous + 1) {
        throw new WalCorruptionError(`WAL segment ${segmentName(previous + 1)} is missing before ${path}; the log has a gap. Restore this node's data directory from a peer (or remove it and let the node rejoin from a snapshot).`);
      }
      const decoded = decodeRecords(fs.readFileSync(path));
      const last = i === seqs.length - 1;
      if (decoded.problem !== undefined) {
        if (decoded.problem.kind === "corrupt" || !last) {
          throw new WalCorruptionError(
            `WAL segment ${path} is corrupt at byte offset ${decoded.problem.offsetBytes}: ${decoded.problem.detail}${last ? "" : " (in a segment that is not the last)"}. ` +
              `Synced data is damaged, so this node must not start from it: restore its data directory from a peer, or remove it and let the node rejoin from the leader's snapshot.`,
          );
        }
        fs.truncateSync(path, decoded.validBytes);
      }
      // A loop, not push(...spread): a large segment holds more records than the call stack has argument slots.
      for (const record of decoded.records) records.push(record);
      segments.push({ seq, path, maxEntryIndex: maxEntryIndexOf(decoded.records) });
    }
    if (segments.length === 0) segments.push({ seq: 1, path: `${dir}/${segmentName(1)}`, maxEntryIndex: 0 });
    const current = segments[segments.length - 1] as Segment;
    const fd = fs.openWriteSync(current.path);
    if (seqs.length === 0) fs.syncDirSync(dir);
    const size = fs.fstatSizeSync(fd);
    if (size > 0) fs.fdatasyncSync(fd); // a truncated tail must be durable before new records follow it
    return { wal: new Wal(fs, dir, options, segments, fd, size), records };
  }

  /**
   * Appends `records` in one write (not yet durable: call `sync`). On a write error the segment
   * is cut back to its previous size, so the log stays readable, and the error is rethrown.
   */
  append(records: readonly WalRecord[]): void {
    if (this.broken !== null) throw new Error(`WAL is unusable after an earlier failure: ${this.broken}`);
    if (records.length === 0) return;
    // Framed straight into one buffer kept between appends (the write is synchronous): no
    // ArrayBuffer per record, per payload or per write (malloc churn and copies on the write path).
    let total = 0;
    for (const record of records) total += recordBytes(record);
    // A rare large batch (a follower catching up) gets a buffer of its own, not a large scratch kept forever.
    if (this.scratch.length < total && total <= maxScratchBytes) this.scratch = new Uint8Array(Math.min(maxScratchBytes, Math.max(total, 2 * this.scratch.length)));
    const buffer = total <= this.scratch.length ? this.scratch.subarray(0, total) : new Uint8Array(total);
    let at = 0;
    for (const record of records) at = writeRecord(record, buffer, at);
    const end = this.sizeBytes + total;
    try {
      if (end > this.allocatedBytes) {
        // One file-size change (and so one dearer fdatasync) per extension, not per write.
        if (this.preallocateBytes > 0) this.fs.ftruncateSync(this.fd, end + this.preallocateBytes);
        this.allocatedBytes = end + this.preallocateBytes;
      }
      writeAllAt(this.fs, this.fd, buffer, this.sizeBytes);
    } catch (error) {
      this.rollBack(error);
      throw error;
    }
    this.sizeBytes = end;
    const current = this.segments[this.segments.length - 1] as Segment;
    current.maxEntryIndex = Math.max(current.maxEntryIndex, maxEntryIndexOf(records));
  }

  private rollBack(cause: unknown): void {
    try {
      // Also drops the extension: the next append extends the file again.
      this.fs.ftruncateSync(this.fd, this.sizeBytes);
      this.allocatedBytes = this.sizeBytes;
    } catch (error) {
      this.broken = `a write failed (${String(cause)}) and cutting it back failed too (${String(error)}); reopen the WAL`;
    }
  }

  /** Makes everything appended so far durable: one fdatasync for the whole batch (group commit). */
  sync(): void {
    if (this.broken !== null) throw new Error(`WAL is unusable after an earlier failure: ${this.broken}`);
    try {
      this.fs.fdatasyncSync(this.fd);
    } catch (error) {
      // After a failed fsync the page cache state is unknown (the "fsyncgate" lesson): refuse further writes.
      this.broken = `fdatasync failed (${String(error)}); reopen the WAL`;
      throw error;
    }
  }

  /**
   * As `sync`, with the fdatasync off the event loop: `done` runs once everything appended before
   * this call is durable, or with the error (then the WAL refuses further writes). The caller
   * appends nothing meanwhile and does not roll or close the segment until `done` ran.
   */
  syncAsync(done: (error: Error | null) => void): void {
    if (this.broken !== null) {
      const error = new Error(`WAL is unusable after an earlier failure: ${this.broken}`);
      queueMicrotask(() => done(error));
      return;
    }
    const fdatasync = this.fs.fdatasync;
    if (fdatasync === undefined) {
      let failure: Error | null = null;
      try {
        this.sync();
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      queueMicrotask(() => done(failure));
      return;
    }
    fdatasync.call(this.fs, this.fd, (error) => {
      if (error !== null) this.broken = `fdatasync failed (${String(error)}); reopen the WAL`;
      done(error);
    });
  }

  /** Whether the current segment has reached its size limit. */
  isFull(): boolean {
    return this.sizeBytes >= this.segmentBytes;
  }

  /**
   * Cuts the current segment back to its records, syncs and closes it, and starts the next one
   * with `header` records, synced. Only a segment cut back for good is followed by another (a
   * segment before the last must end with its last record).
   */
  roll(header: readonly WalRecord[]): void {
    if (this.allocatedBytes > this.sizeBytes) {
      this.fs.ftruncateSync(this.fd, this.sizeBytes);
      this.allocatedBytes = this.sizeBytes;
    }
    this.sync();
    const current = this.segments[this.segments.length - 1] as Segment;
    const next: Segment = { seq: current.seq + 1, path: `${this.dir}/${segmentName(current.seq + 1)}`, maxEntryIndex: 0 };
    const fd = this.fs.openWriteSync(next.path);
    this.fs.closeSync(this.fd);
    this.fd = fd;
    this.sizeBytes = 0;
    this.allocatedBytes = 0;
    this.segments.push(next);
    this.append(header);
    this.sync();
    this.fs.syncDirSync(this.dir);
  }

  /** Deletes the oldest segments whose entries are all at or below `index` (never the current one). */
  removeSegmentsUpTo(index: number): number {
    let removed = 0;
    while (this.segments.length > 1 && (this.segments[0] as Segment).maxEntryIndex <= index) {
      this.fs.unlinkSync((this.segments.shift() as Segment).path);
      removed++;
    }
    if (removed > 0) this.fs.syncDirSync(this.dir);
    return removed;
  }

  /** The segment files, oldest first. */
  segmentPaths(): readonly string[] {
    return this.segments.map((segment) => segment.path);
  }

  /** Closes the current segment (without syncing: call `sync` first for durability). */
  close(): void {
    this.fs.closeSync(this.fd);
  }
}
