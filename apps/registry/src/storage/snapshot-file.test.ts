// Checks snapshot files: a round trip, a damaged or missing file refused with its path, and the
// clean-up of older snapshots and leftover temp files.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { logIndex, nodeId, term } from "@meshwork/raft";
import type { Snapshot } from "@meshwork/raft";
import { afterEach, describe, expect, it } from "vitest";
import { readSnapshotFile, removeSnapshotFilesBefore, snapshotFileName, writeSnapshotFile } from "./snapshot-file.ts";
import { nodeWalFs } from "./wal-fs.ts";

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
