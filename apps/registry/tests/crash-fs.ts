// Test file systems over the real one: `CrashFs` remembers how much of each WAL file was written
// and fdatasync'ed and can "crash" (drop what was not, keeping a seeded random part of it as a
// partial flush);
// `FailingFs` fails writes after a byte budget, like a full disk.
import * as nodeFs from "node:fs";
import { nodeWalFs } from "../src/storage/wal-fs.ts";
import type { WalFs } from "../src/storage/wal-fs.ts";

/** A WalFs that tracks synced sizes so a test can simulate power loss. */
export class CrashFs implements WalFs {
  private readonly paths = new Map<number, string>();
  /** Per WAL file: the end of its written bytes (its length may be more: the WAL's extension). */
  private readonly written = new Map<string, number>();
  private readonly synced = new Map<string, number>();
  mkdirSync = nodeWalFs.mkdirSync;
  readdirSync = nodeWalFs.readdirSync;
  readFileSync = nodeWalFs.readFileSync;
  writeSync = nodeWalFs.writeSync;
  renameSync = nodeWalFs.renameSync;
  syncDirSync = nodeWalFs.syncDirSync;
  fstatSizeSync = nodeWalFs.fstatSizeSync;
  writeAtSync(fd: number, bytes: Uint8Array, position: number): number {
    const n = nodeWalFs.writeAtSync(fd, bytes, position);
    const path = this.paths.get(fd);
    if (path !== undefined) this.written.set(path, Math.max(this.written.get(path) ?? 0, position + n));
    return n;
  }
  ftruncateSync(fd: number, lengthBytes: number): void {
    nodeWalFs.ftruncateSync(fd, lengthBytes);
    const path = this.paths.get(fd);
    if (path !== undefined) this.cut(path, lengthBytes);
  }
  unlinkSync(path: string): void {
    nodeWalFs.unlinkSync(path);
    this.synced.delete(path);
    this.written.delete(path);
  }
  truncateSync(path: string, lengthBytes: number): void {
    nodeWalFs.truncateSync(path, lengthBytes);
    this.written.set(path, lengthBytes);
    this.synced.set(path, lengthBytes);
  }
  /** A file cut to `lengthBytes` keeps no written or synced bytes beyond it. */
  private cut(path: string, lengthBytes: number): void {
    this.written.set(path, Math.min(this.written.get(path) ?? 0, lengthBytes));
    this.synced.set(path, Math.min(this.synced.get(path) ?? 0, lengthBytes));
  }
  openWriteSync(path: string): number {
    const fd = nodeWalFs.openWriteSync(path);
    this.paths.set(fd, path);
    if (!this.synced.has(path)) {
      const size = nodeWalFs.fstatSizeSync(fd);
      this.synced.set(path, size);
      this.written.set(path, size);
    }
    return fd;
  }
  openNewSync(path: string): number {
    return nodeWalFs.openNewSync(path);
  }
  fdatasyncSync(fd: number): void {
    nodeWalFs.fdatasyncSync(fd);
    const path = this.paths.get(fd);
    if (path !== undefined) this.synced.set(path, this.written.get(path) ?? 0);
  }
  fsyncSync(fd: number): void {
    nodeWalFs.fsyncSync(fd);
  }
  closeSync(fd: number): void {
    this.paths.delete(fd);
    nodeWalFs.closeSync(fd);
  }

  /**
   * Loses what was not synced: every WAL file keeps its synced prefix plus `keep(unsyncedBytes)`
   * more bytes, which are zeros instead of data when `zeroFill` (space allocated, never written),
   * and is cut there (its extension is lost too).
   */
  crash(keep: (unsyncedBytes: number) => number, zeroFill = false): void {
    for (const fd of this.paths.keys()) nodeFs.closeSync(fd);
    this.paths.clear();
    for (const [path, size] of this.synced) {
      if (!nodeFs.existsSync(path)) continue;
      const kept = keep((this.written.get(path) ?? size) - size);
      nodeFs.truncateSync(path, size + kept);
      if (zeroFill && kept > 0) {
        const fd = nodeFs.openSync(path, "r+");
        nodeFs.writeSync(fd, new Uint8Array(kept), 0, kept, size);
        nodeFs.closeSync(fd);
      }
    }
    this.synced.clear();
    this.written.clear();
  }
}

/** A WalFs whose writes fail with ENOSPC once `budgetBytes` are used up (the failing write lands partly). */
export class FailingFs implements WalFs {
  budgetBytes = Infinity;
  mkdirSync = nodeWalFs.mkdirSync;
  readdirSync = nodeWalFs.readdirSync;
  readFileSync = nodeWalFs.readFileSync;
  renameSync = nodeWalFs.renameSync;
  syncDirSync = nodeWalFs.syncDirSync;
  fstatSizeSync = nodeWalFs.fstatSizeSync;
  ftruncateSync = nodeWalFs.ftruncateSync;
  unlinkSync = nodeWalFs.unlinkSync;
  truncateSync = nodeWalFs.truncateSync;
  openWriteSync = nodeWalFs.openWriteSync;
  openNewSync = nodeWalFs.openNewSync;
  fdatasyncSync = nodeWalFs.fdatasyncSync;
  fsyncSync = nodeWalFs.fsyncSync;
  closeSync = nodeWalFs.closeSync;
  writeSync(fd: number, bytes: Uint8Array): number {
    return this.spend(bytes, (part) => nodeWalFs.writeSync(fd, part));
  }
  writeAtSync(fd: number, bytes: Uint8Array, position: number): number {
    return this.spend(bytes, (part) => nodeWalFs.writeAtSync(fd, part, position));
  }
  private spend(bytes: Uint8Array, write: (part: Uint8Array) => number): number {
    if (bytes.length <= this.budgetBytes) {
      this.budgetBytes -= bytes.length;
      return write(bytes);
    }
    if (this.budgetBytes > 0) write(bytes.subarray(0, Math.floor(this.budgetBytes)));
    this.budgetBytes = 0;
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  }
}
