// Snapshots (Raft §7) as files `<term>-<index>.snap` beside the WAL: magic, CRC-32C, JSON
// metadata and the state-machine bytes, written to a temp file, fsynced, renamed, and the
// directory fsynced, so a crash leaves either the old snapshot or the whole new one.
import type { LogIndex, Snapshot, Term } from "@meshwork/raft";
import { crc32c } from "./crc32c.ts";
import { writeAll, writeAllAt } from "./wal-fs.ts";
import type { WalFs } from "./wal-fs.ts";

const magic = 0x4d57534e; // "MWSN"
const headerBytes = 12; // magic u32, crc u32, metadata length u32
const pattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

/** The file name of the snapshot at (`term`, `index`). */
export function snapshotFileName(term: Term, index: LogIndex): string {
  return `${term.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}.snap`;
}

/**
 * A snapshot file built from chunks (so the state never has to sit in one buffer): `add` the
 * state-machine bytes in order — the CRC is computed as they come — then `finish` writes the file
 * durably (temp file, fsync, rename, directory fsync). Given a `sink`, each chunk goes to the temp
 * file as it is added and only the header (with the CRC) is written at `finish`: the process never
 * holds the whole snapshot (tens of MB at 100k keys, which glibc would keep in the RSS after it is
 * freed). Without one the chunks are copied until `finish`. `abort` drops an unfinished one.
 */
export class SnapshotFileWriter {
  private readonly metadata: Snapshot["metadata"];
  private readonly meta: Uint8Array;
  private readonly chunks: Uint8Array[] = [];
  private crc: number;
  private bytes = 0;
  /** The temp file being streamed to (a sink was given). */
  private stream: { readonly fs: WalFs; readonly dir: string; readonly temp: string; fd: number | null } | null = null;
  /** `flush` made the temp file durable (header included) and nothing was added since. */
  private flushed = false;

  constructor(metadata: Snapshot["metadata"], sink?: { readonly fs: WalFs; readonly dir: string }) {
    this.metadata = metadata;
    this.meta = new TextEncoder().encode(JSON.stringify(metadata));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, this.meta.length, true);
    this.crc = crc32c(this.meta, 0, this.meta.length, crc32c(length));
    if (sink !== undefined) {
      const temp = `${sink.dir}/${snapshotFileName(metadata.term, metadata.index)}.tmp`;
      removeIfPresent(sink.fs, temp);
      const fd = sink.fs.openNewSync(temp);
      this.stream = { fs: sink.fs, dir: sink.dir, temp, fd };
      try {
        // The header's CRC is not known yet: its place is filled at finish.
        writeAll(sink.fs, fd, this.header(0));
      } catch (error) {
        this.abort();
        throw error;
      }
    }
  }

  private header(crc: number): Uint8Array {
    const header = new Uint8Array(headerBytes + this.meta.length);
    const view = new DataView(header.buffer);
    view.setUint32(0, magic, true);
    view.setUint32(4, crc, true);
    view.setUint32(8, this.meta.length, true);
    header.set(this.meta, headerBytes);
    return header;
  }

  /** Appends the next slice of the state-machine bytes (written at once when streaming, else copied until `finish`); `chunk` may be reused afterwards. */
  add(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.crc = crc32c(chunk, 0, chunk.length, this.crc);
    this.bytes += chunk.length;
    this.flushed = false;
    const stream = this.stream;
    if (stream === null) {
      // A copy: the caller may reuse its buffer for the next chunk (see ReplicatedState.snapshotChunks).
      this.chunks.push(chunk.slice());
      return;
    }
    if (stream.fd === null) throw new Error(`snapshot ${stream.temp} was aborted`);
    writeAll(stream.fs, stream.fd, chunk);
  }

  /** Data bytes added so far. */
  get dataBytes(): number {
    return this.bytes;
  }

  /** Closes and removes a streamed temp file (an abandoned snapshot); harmless otherwise. */
  abort(): void {
    const stream = this.stream;
    if (stream === null || stream.fd === null) return;
    const fd = stream.fd;
    stream.fd = null;
    try {
      stream.fs.closeSync(fd);
    } finally {
      removeIfPresent(stream.fs, stream.temp);
    }
  }

  /**
   * Makes the streamed temp file durable (its header written, then an fdatasync off the event
   * loop) before `finish`, which then only renames it: the node keeps serving while tens of MB
   * reach the disk. `done` runs once it is durable, or with the error (then `abort`). Without a
   * streamed file or an asynchronous fdatasync, `done(null)` comes at once and `finish` syncs.
   */
  flush(done: (error: Error | null) => void): void {
    const stream = this.stream;
    const fdatasync = stream?.fs.fdatasync;
    if (stream === null || stream.fd === null || fdatasync === undefined) {
      queueMicrotask(() => done(null));
      return;
    }
    try {
      this.writeHeader(stream.fs, stream.fd);
    } catch (error) {
      queueMicrotask(() => done(error instanceof Error ? error : new Error(String(error))));
      return;
    }
    const bytes = this.bytes;
    fdatasync.call(stream.fs, stream.fd, (error) => {
      // Chunks added meanwhile (not done by the registry) leave it unflushed: finish syncs.
      if (error === null && this.bytes === bytes) this.flushed = true;
      done(error);
    });
  }

  private writeHeader(fs: WalFs, fd: number): void {
    writeAllAt(fs, fd, this.header(this.crc), 0);
  }

  /** Writes the file into `dir`; a crash leaves either no file or the whole one. */
  finish(fs: WalFs, dir: string): void {
    const name = snapshotFileName(this.metadata.term, this.metadata.index);
    const stream = this.stream;
    if (stream !== null) {
      if (stream.fd === null) throw new Error(`snapshot ${stream.temp} was aborted`);
      const fd = stream.fd;
      try {
        if (!this.flushed) {
          this.writeHeader(stream.fs, fd);
          stream.fs.fsyncSync(fd);
        }
      } catch (error) {
        this.abort();
        throw error;
      }
      stream.fd = null;
      stream.fs.closeSync(fd);
      stream.fs.renameSync(stream.temp, `${stream.dir}/${name}`);
      stream.fs.syncDirSync(stream.dir);
      return;
    }
    const temp = `${dir}/${name}.tmp`;
    removeIfPresent(fs, temp);
    const fd = fs.openNewSync(temp);
    try {
      writeAll(fs, fd, this.header(this.crc));
      for (const chunk of this.chunks) writeAll(fs, fd, chunk);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, `${dir}/${name}`);
    fs.syncDirSync(dir);
  }
}

function removeIfPresent(fs: WalFs, path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // no leftover from an earlier crash
  }
}

/** Writes `snapshot` durably into `dir` (temp file, fsync, rename, directory fsync). */
export function writeSnapshotFile(fs: WalFs, dir: string, snapshot: Snapshot): void {
  const writer = new SnapshotFileWriter(snapshot.metadata);
  writer.add(snapshot.data);
  writer.finish(fs, dir);
}

/** Reads and verifies the snapshot at (`term`, `index`); throws naming the file if it is missing or damaged. */
export function readSnapshotFile(fs: WalFs, dir: string, term: Term, index: LogIndex): Snapshot {
  const path = `${dir}/${snapshotFileName(term, index)}`;
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (error) {
    throw new Error(`snapshot ${path} that the WAL refers to cannot be read (${String(error)}); restore this node from a peer's snapshot`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < headerBytes || view.getUint32(0, true) !== magic || view.getUint32(4, true) !== crc32c(bytes, 8)) {
    throw new Error(`snapshot ${path} is damaged (bad magic or CRC); restore this node from a peer's snapshot`);
  }
  const metaLength = view.getUint32(8, true);
  const metadata = JSON.parse(new TextDecoder().decode(bytes.subarray(headerBytes, headerBytes + metaLength))) as Snapshot["metadata"];
  return { metadata, data: bytes.subarray(headerBytes + metaLength) };
}

/** Deletes the snapshot files (and leftover temp files) of `dir` older than `keepIndex`. */
export function removeSnapshotFilesBefore(fs: WalFs, dir: string, keepIndex: LogIndex): void {
  for (const name of fs.readdirSync(dir)) {
    const match = pattern.exec(name);
    if (name.endsWith(".snap.tmp") || (match !== null && parseInt(match[2] as string, 16) < keepIndex)) fs.unlinkSync(`${dir}/${name}`);
  }
}
