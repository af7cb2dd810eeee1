// Checks snapshot files: a round trip, a damaged or missing file refused with its path, and the
// clean-up of older snapshots and leftover temp files.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { logIndex, nodeId, term } from "@meshwork/raft";
import type { Snapshot } from "@meshwork/raft";
import { afterEach, describe, expect, it } from "vitest";
import { readSnapshotFile, removeSnapshotFilesBefore, SnapshotFileWriter, snapshotFileName, writeSnapshotFile } from "./snapshot-file.ts";
import { nodeWalFs } from "./wal-fs.ts";
import type { WalFs } from "./wal-fs.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-snap-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function snapshotAt(index: number): Snapshot {
  return { metadata: { index: logIndex(index), term: term(2), confState: { voters: [nodeId("1")], learners: [nodeId("4")] } }, data: new Uint8Array([index, 1, 2]) };
}

describe("snapshot files", () => {
  it("stream chunks to the temp file as they are added and read back the same bytes as a buffered write", () => {
    const dir = tempDir();
    const metadata = snapshotAt(9).metadata;
    const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(7), new Uint8Array([9])];
    const writer = new SnapshotFileWriter(metadata, { fs: nodeWalFs, dir });
    const temp = path.join(dir, `${snapshotFileName(term(2), logIndex(9))}.tmp`);
    writer.add(chunks[0] as Uint8Array);
    writer.add(chunks[1] as Uint8Array);
    writer.add(chunks[2] as Uint8Array);
    // Already on disk before finish: the writer keeps no chunk.
    expect(fs.statSync(temp).size).toBeGreaterThan(70_000);
    writer.add(chunks[3] as Uint8Array);
    writer.finish(nodeWalFs, dir);
    const streamed = fs.readFileSync(path.join(dir, snapshotFileName(term(2), logIndex(9))));
    const other = tempDir();
    const buffered = new SnapshotFileWriter(metadata);
    for (const chunk of chunks) buffered.add(chunk);
    buffered.finish(nodeWalFs, other);
    expect(streamed.equals(fs.readFileSync(path.join(other, snapshotFileName(term(2), logIndex(9)))))).toBe(true);
    const read = readSnapshotFile(nodeWalFs, dir, term(2), logIndex(9));
    expect(read.data.length).toBe(70_004);
    expect(fs.readdirSync(dir)).toEqual([snapshotFileName(term(2), logIndex(9))]);
  });

  it("flush syncs the streamed file off the event loop, so finish only renames it; a chunk added after flush is synced by finish", async () => {
    const dir = tempDir();
    const calls: string[] = [];
    const counting: WalFs = {
      ...nodeWalFs,
      fsyncSync: (fd) => {
        calls.push("fsyncSync");
        nodeWalFs.fsyncSync(fd);
      },
      fdatasync: (fd, done) => {
        calls.push("fdatasync");
        (nodeWalFs.fdatasync as NonNullable<WalFs["fdatasync"]>)(fd, done);
      },
    };
    const metadata = snapshotAt(11).metadata;
    const writer = new SnapshotFileWriter(metadata, { fs: counting, dir });
    writer.add(new Uint8Array(50_000).fill(5));
    await new Promise<void>((resolve, reject) => writer.flush((error) => (error === null ? resolve() : reject(error))));
    writer.finish(counting, dir);
    expect(calls).toEqual(["fdatasync"]);
    expect(readSnapshotFile(nodeWalFs, dir, term(2), logIndex(11)).data).toEqual(new Uint8Array(50_000).fill(5));

    calls.length = 0;
    const later = new SnapshotFileWriter(snapshotAt(12).metadata, { fs: counting, dir });
    later.add(new Uint8Array([1]));
    await new Promise<void>((resolve, reject) => later.flush((error) => (error === null ? resolve() : reject(error))));
    later.add(new Uint8Array([2]));
    later.finish(counting, dir);
    expect(calls).toEqual(["fdatasync", "fsyncSync"]);
    expect(readSnapshotFile(nodeWalFs, dir, term(2), logIndex(12)).data).toEqual(new Uint8Array([1, 2]));
  });

  it("buffer chunks without a sink, and abort removes a streamed temp file", () => {
    const dir = tempDir();
    const buffered = new SnapshotFileWriter(snapshotAt(5).metadata);
    buffered.add(new Uint8Array([5, 1, 2]));
    expect(fs.readdirSync(dir)).toEqual([]);
    buffered.finish(nodeWalFs, dir);
    expect(readSnapshotFile(nodeWalFs, dir, term(2), logIndex(5))).toEqual(snapshotAt(5));
    const aborted = new SnapshotFileWriter(snapshotAt(6).metadata, { fs: nodeWalFs, dir });
    aborted.add(new Uint8Array([1]));
    aborted.abort();
    expect(fs.readdirSync(dir)).toEqual([snapshotFileName(term(2), logIndex(5))]);
    expect(() => aborted.add(new Uint8Array([2]))).toThrow(/aborted/);
  });

  it("read back what was written", () => {
    const dir = tempDir();
    writeSnapshotFile(nodeWalFs, dir, snapshotAt(7));
    expect(readSnapshotFile(nodeWalFs, dir, term(2), logIndex(7))).toEqual(snapshotAt(7));
    expect(fs.readdirSync(dir)).toEqual([snapshotFileName(term(2), logIndex(7))]);
  });

  it("refuse a damaged or missing file, naming it", () => {
    const dir = tempDir();
    writeSnapshotFile(nodeWalFs, dir, snapshotAt(7));
    const file = path.join(dir, snapshotFileName(term(2), logIndex(7)));
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    fs.writeFileSync(file, bytes);
    expect(() => readSnapshotFile(nodeWalFs, dir, term(2), logIndex(7))).toThrow(`snapshot ${file} is damaged`);
    expect(() => readSnapshotFile(nodeWalFs, dir, term(2), logIndex(8))).toThrow(/cannot be read.*restore this node/);
  });

  it("remove older snapshots and temp files, keeping the current one", () => {
    const dir = tempDir();
    writeSnapshotFile(nodeWalFs, dir, snapshotAt(3));
    writeSnapshotFile(nodeWalFs, dir, snapshotAt(9));
    fs.writeFileSync(path.join(dir, `${snapshotFileName(term(2), logIndex(12))}.tmp`), "partial");
    removeSnapshotFilesBefore(nodeWalFs, dir, logIndex(9));
    expect(fs.readdirSync(dir)).toEqual([snapshotFileName(term(2), logIndex(9))]);
  });
});
