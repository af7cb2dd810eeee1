// Checks the segmented WAL on its own: records survive rolls and reopens, a torn tail is only
// forgiven in the last segment, the segment's extension ahead of its records is zeros that a
// reopen cuts off, and after a failed fdatasync the log refuses further writes.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { logIndex, term } from "@meshwork/raft";
import { afterEach, describe, expect, it } from "vitest";
import { Wal, WalCorruptionError } from "./wal.ts";
import type { WalRecord } from "./wal-record.ts";
import { nodeWalFs } from "./wal-fs.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-seg-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function record(index: number): WalRecord {
  return { type: "entry", entry: { index: logIndex(index), term: term(1), type: "normal", data: new Uint8Array(20).fill(index) } };
}

function fill(dir: string, count: number): string[] {
  const { wal } = Wal.open(dir, { segmentBytes: 100 });
  for (let i = 1; i <= count; i++) {
    wal.append([record(i)]);
    wal.sync();
    if (wal.isFull()) wal.roll([]);
  }
  const paths = [...wal.segmentPaths()];
  wal.close();
  return paths;
}

describe("Wal", () => {
  it("returns every record in order across segments after a reopen", () => {
    const dir = tempDir();
    const paths = fill(dir, 12);
    expect(paths.length).toBeGreaterThan(3);
    const { wal, records } = Wal.open(dir, { segmentBytes: 100 });
    expect(records).toEqual(Array.from({ length: 12 }, (_, i) => record(i + 1)));
    wal.close();
  });

  it("reopens a segment holding more records than a call can take arguments (200,000)", () => {
    const dir = tempDir();
    const { wal } = Wal.open(dir);
    const count = 200_000;
    for (let start = 1; start <= count; start += 10_000) wal.append(Array.from({ length: 10_000 }, (_, i) => record(start + i)));
    wal.sync();
    wal.close();
    const reopened = Wal.open(dir);
    expect(reopened.records).toHaveLength(count);
    expect(reopened.records[count - 1]).toEqual(record(count));
    reopened.wal.close();
  }, 60_000); // 200,000 records: seconds on a loaded machine

  it("keeps every append's bytes when appends of different sizes share its write buffer", () => {
    const dir = tempDir();
    const { wal } = Wal.open(dir, {});
    const sized = (index: number, bytes: number): WalRecord => ({ type: "entry", entry: { index: logIndex(index), term: term(1), type: "normal", data: new Uint8Array(bytes).fill(index % 251) } });
    // Small, one batch larger than the buffer it keeps (256 KiB), small again, a mid-size batch.
    const batches: WalRecord[][] = [[sized(1, 10)], Array.from({ length: 40 }, (_, i) => sized(2 + i, 8000)), [sized(42, 3)], Array.from({ length: 9 }, (_, i) => sized(43 + i, 3000))];
    for (const batch of batches) wal.append(batch);
    wal.sync();
    wal.close();
    const { wal: reopened, records } = Wal.open(dir, {});
    reopened.close();
    // Compared as hex: toEqual walks 330 kB of bytes one by one for seconds.
    const summary = (list: readonly WalRecord[]): string[] => list.flatMap((r) => (r.type === "entry" ? [`${r.entry.index}:${Buffer.from(r.entry.data).toString("hex")}`] : []));
    expect(summary(records)).toEqual(summary(batches.flat()));
  });

  it("extends the segment ahead of its records and cuts the extension off at a reopen and at a roll", () => {
    const dir = tempDir();
    const { wal } = Wal.open(dir, { segmentBytes: 1000, preallocateBytes: 512 });
    const file = wal.segmentPaths()[0] as string;
    wal.append([record(1)]);
    wal.sync();
    const recordEnd = 46; // 9 bytes of header, 17 of term/index/type, 20 of data
    expect(fs.statSync(file).size).toBe(recordEnd + 512);
    for (let i = 2; i <= 12; i++) wal.append([record(i)]); // 552 bytes: within the extension
    expect(fs.statSync(file).size).toBe(recordEnd + 512);
    wal.append([record(13)]); // passes the end: one more extension from the new end
    expect(fs.statSync(file).size).toBe(13 * recordEnd + 512);
    wal.sync();
    wal.close();
    const reopened = Wal.open(dir, { segmentBytes: 1000, preallocateBytes: 512 });
    expect(reopened.records).toEqual(Array.from({ length: 13 }, (_, i) => record(i + 1)));
    expect(fs.statSync(file).size).toBe(13 * recordEnd);
    for (let i = 14; i <= 25; i++) reopened.wal.append([record(i)]);
    expect(reopened.wal.isFull()).toBe(true);
    reopened.wal.roll([]);
    expect(fs.statSync(file).size).toBe(25 * recordEnd); // a segment before the last ends with its last record
    reopened.wal.append([record(26)]);
    reopened.wal.sync();
    reopened.wal.close();
    expect(Wal.open(dir, { segmentBytes: 1000, preallocateBytes: 512 }).records).toEqual(Array.from({ length: 26 }, (_, i) => record(i + 1)));
  });

  it("grows the file by each write with no extension", () => {
    const dir = tempDir();
    const { wal } = Wal.open(dir, { preallocateBytes: 0 });
    wal.append([record(1), record(2)]);
    wal.sync();
    expect(fs.statSync(wal.segmentPaths()[0] as string).size).toBe(2 * 46);
    wal.close();
  });

  it("takes a torn last record followed by the extension's zeros for a torn tail, and refuses data after it", () => {
    const dir = tempDir();
    const { wal } = Wal.open(dir, { preallocateBytes: 4096 });
    const file = wal.segmentPaths()[0] as string;
    wal.append([record(1), record(2), record(3)]);
    wal.sync();
    wal.close();
    // The last record's second half never reached the disk: zeros, then the rest of the extension.
    const fd = fs.openSync(file, "r+");
    fs.writeSync(fd, new Uint8Array(20), 0, 20, 2 * 46 + 26);
    fs.closeSync(fd);
    const reopened = Wal.open(dir);
    expect(reopened.records).toEqual([record(1), record(2)]);
    expect(fs.statSync(file).size).toBe(2 * 46);
    reopened.wal.append([record(3)]);
    reopened.wal.sync();
    reopened.wal.close();
    // A damaged record with a record after it is corruption, extension or not.
    const bytes = fs.readFileSync(file);
    bytes[46 + 30] = (bytes[46 + 30] as number) ^ 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => Wal.open(dir)).toThrow(/corrupt at byte offset 46: CRC mismatch/);
  });

  it("refuses a torn record in a segment that is not the last", () => {
    const dir = tempDir();
    const paths = fill(dir, 12);
    const first = paths[0] as string;
    fs.truncateSync(first, fs.statSync(first).size - 3);
    expect(() => Wal.open(dir)).toThrow(WalCorruptionError);
    expect(() => Wal.open(dir)).toThrow(/not the last/);
  });

  it("refuses every later write after a failed fdatasync, and the synced records stay readable", () => {
    const dir = tempDir();
    let failSync = false;
    const { wal } = Wal.open(dir, {
      fs: {
        ...nodeWalFs,
        fdatasyncSync: (fd) => {
          if (failSync) throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
          nodeWalFs.fdatasyncSync(fd);
        },
      },
    });
    wal.append([record(1)]);
    wal.sync();
    failSync = true;
    wal.append([record(2)]);
    expect(() => wal.sync()).toThrow(/EIO/);
    failSync = false;
    expect(() => wal.append([record(3)])).toThrow(/unusable/);
    wal.close();
    const reopened = Wal.open(dir);
    expect(reopened.records.slice(0, 1)).toEqual([record(1)]);
    reopened.wal.close();
  });
});
