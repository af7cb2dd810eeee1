// Test file systems over the real one: `CrashFs` remembers how much of each file was fdatasync'ed
// and can "crash" (drop what was not, keeping a seeded random part of it as a partial flush);
// `FailingFs` fails writes after a byte budget, like a full disk.
import * as nodeFs from "node:fs";
import { nodeWalFs } from "../src/storage/wal-fs.ts";
import type { WalFs } from "../src/storage/wal-fs.ts";

/** A WalFs that tracks synced sizes so a test can simulate power loss. */
export class CrashFs implements WalFs {
  private readonly paths = new Map<number, string>();
  private readonly synced = new Map<string, number>();
  mkdirSync = nodeWalFs.mkdirSync;
  readdirSync = nodeWalFs.readdirSync;
  readFileSync = nodeWalFs.readFileSync;
  writeSync = nodeWalFs.writeSync;
  renameSync = nodeWalFs.renameSync;
  syncDirSync = nodeWalFs.syncDirSync;
  fstatSizeSync = nodeWalFs.fstatSizeSync;
  ftruncateSync = nodeWalFs.ftruncateSync;
  unlinkSync(path: string): void {
    nodeWalFs.unlinkSync(path);
    this.synced.delete(path);
  }
  truncateSync(path: string, lengthBytes: number): void {
    nodeWalFs.truncateSync(path, lengthBytes);
    this.synced.set(path, lengthBytes);
  }
  openAppendSync(path: string): number {
    const fd = nodeWalFs.openAppendSync(path);
    this.paths.set(fd, path);
    if (!this.synced.has(path)) this.synced.set(path, nodeWalFs.fstatSizeSync(fd));
    return fd;
  }
  openNewSync(path: string): number {
    return nodeWalFs.openNewSync(path);
  }
  fdatasyncSync(fd: number): void {
    nodeWalFs.fdatasyncSync(fd);
    const path = this.paths.get(fd);
    if (path !== undefined) this.synced.set(path, nodeWalFs.fstatSizeSync(fd));
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
   * more bytes, which are zeros instead of data when `zeroFill` (space allocated, never written).
   */
  crash(keep: (unsyncedBytes: number) => number, zeroFill = false): void {
    for (const fd of this.paths.keys()) nodeFs.closeSync(fd);
    this.paths.clear();
    for (const [path, size] of this.synced) {
      if (!nodeFs.existsSync(path)) continue;
      const actual = nodeFs.statSync(path).size;
      const kept = keep(actual - size);
      nodeFs.truncateSync(path, size + kept);
      if (zeroFill && kept > 0) {
        const fd = nodeFs.openSync(path, "r+");
        nodeFs.writeSync(fd, new Uint8Array(kept), 0, kept, size);
        nodeFs.closeSync(fd);
      }
    }
    this.synced.clear();
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
  openAppendSync = nodeWalFs.openAppendSync;
  openNewSync = nodeWalFs.openNewSync;
  fdatasyncSync = nodeWalFs.fdatasyncSync;
  fsyncSync = nodeWalFs.fsyncSync;
  closeSync = nodeWalFs.closeSync;
  writeSync(fd: number, bytes: Uint8Array): number {
    if (bytes.length <= this.budgetBytes) {
      this.budgetBytes -= bytes.length;
      return nodeWalFs.writeSync(fd, bytes);
    }
    if (this.budgetBytes > 0) nodeWalFs.writeSync(fd, bytes.subarray(0, Math.floor(this.budgetBytes)));
    this.budgetBytes = 0;
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  }
}
