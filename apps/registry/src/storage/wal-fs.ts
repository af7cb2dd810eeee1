// The few file-system calls the write-ahead log makes, as a port: `nodeWalFs` is the real one,
// tests wrap it to inject write errors (a full disk) and check they surface without corruption.
import * as fs from "node:fs";

/** The synchronous file operations the WAL and snapshot store use (names as in node:fs). */
export interface WalFs {
  mkdirSync(path: string): void;
  readdirSync(path: string): string[];
  readFileSync(path: string): Uint8Array;
  /** Opens for writing at positions (creating it if absent; not O_APPEND, whose writes ignore the position); returns a descriptor. */
  openWriteSync(path: string): number;
  /** Opens for writing a new file, failing if it exists. */
  openNewSync(path: string): number;
  writeSync(fd: number, bytes: Uint8Array): number;
  /** Writes at `position` without moving the file offset (pwrite). */
  writeAtSync(fd: number, bytes: Uint8Array, position: number): number;
  fdatasyncSync(fd: number): void;
  /** fdatasync off the event loop (libuv's thread pool); absent: `Wal.syncAsync` calls `fdatasyncSync`. */
  fdatasync?(fd: number, done: (error: Error | null) => void): void;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, lengthBytes: number): void;
  fstatSizeSync(fd: number): number;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  truncateSync(path: string, lengthBytes: number): void;
  /** Makes renames, creations and deletions in directory `path` durable (fsync of the directory). */
  syncDirSync(path: string): void;
}

/** The real file system (node:fs). */
export const nodeWalFs: WalFs = {
  mkdirSync: (path) => void fs.mkdirSync(path, { recursive: true }),
  readdirSync: (path) => fs.readdirSync(path),
  readFileSync: (path) => {
    const buffer = fs.readFileSync(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength); // plain Uint8Array: slices are not Buffers
  },
  openWriteSync: (path) => fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o666),
  openNewSync: (path) => fs.openSync(path, "wx"),
  writeSync: (fd, bytes) => fs.writeSync(fd, bytes),
  writeAtSync: (fd, bytes, position) => fs.writeSync(fd, bytes, 0, bytes.length, position),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  fdatasync: (fd, done) => fs.fdatasync(fd, (error) => done(error)),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  ftruncateSync: (fd, lengthBytes) => fs.ftruncateSync(fd, lengthBytes),
  fstatSizeSync: (fd) => fs.fstatSync(fd).size,
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (path) => fs.unlinkSync(path),
  truncateSync: (path, lengthBytes) => fs.truncateSync(path, lengthBytes),
  syncDirSync: (path) => {
    const fd = fs.openSync(path, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};

/** Writes all of `bytes` (writeSync may write fewer than asked). */
export function writeAll(walFs: WalFs, fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += walFs.writeSync(fd, bytes.subarray(done));
}

/** Writes all of `bytes` at `position` (a positional write may write fewer than asked). */
export function writeAllAt(walFs: WalFs, fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += walFs.writeAtSync(fd, bytes.subarray(done), position + done);
}
