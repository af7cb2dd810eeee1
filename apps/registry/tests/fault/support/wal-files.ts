// Damage a stopped node's write-ahead log the way disks and crashes do. Segments are
// `<seq:016x>.wal` files of records framed `u32 length | u8 type | u32 CRC | payload` (README "On disk").
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const recordHeaderBytes = 9;

/** The WAL segment paths of `dataDir`, oldest first. */
export function walSegments(dataDir: string): string[] {
  return readdirSync(dataDir)
    .filter((name) => /^[0-9a-f]{16}\.wal$/.test(name))
    .sort()
    .map((name) => join(dataDir, name));
}

/** Cuts `bytes` off the end of the newest segment (a write torn by a crash); returns its path. */
export function tearLastRecord(dataDir: string, bytes: number): string {
  const newest = walSegments(dataDir).at(-1);
  if (newest === undefined) throw new Error(`no WAL segment in ${dataDir}`);
  const size = readFileSync(newest).length;
  truncateSync(newest, Math.max(0, size - bytes));
  return newest;
}

/** Offsets where records start in a segment's bytes (stops at the first incomplete one). */
export function recordOffsets(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsets: number[] = [];
  for (let at = 0; at + recordHeaderBytes <= bytes.length; ) {
    const end = at + recordHeaderBytes + view.getUint32(at, true);
    if (end > bytes.length) break;
    offsets.push(at);
    at = end;
  }
  return offsets;
}

/**
 * Turns the single segment of `dataDir` into two valid segments split at a record boundary in the
 * middle (what a log that rolled over looks like), then cuts `cutBytes` off the end of the first:
 * a truncated segment that is not the last. Returns the damaged segment's path.
 */
export function truncateMiddleSegment(dataDir: string, cutBytes: number): string {
  const segments = walSegments(dataDir);
  if (segments.length !== 1) throw new Error(`expected one WAL segment in ${dataDir}, found ${segments.length}`);
  const first = segments[0] as string;
  const bytes = readFileSync(first);
  const offsets = recordOffsets(bytes);
  if (offsets.length < 4) throw new Error(`${first} holds only ${offsets.length} records; write more before splitting it`);
  const split = offsets[Math.floor(offsets.length / 2)] as number;
  writeFileSync(join(dataDir, `${(2).toString(16).padStart(16, "0")}.wal`), bytes.subarray(split));
  writeFileSync(first, bytes.subarray(0, split - cutBytes));
  return first;
}

/**
 * Appends the first half of a copy of the newest segment's last record to it: a crash in the
 * middle of appending a batch that was never synced, so never acknowledged. Returns the path.
 */
export function appendTornRecord(dataDir: string): string {
  const newest = walSegments(dataDir).at(-1);
  if (newest === undefined) throw new Error(`no WAL segment in ${dataDir}`);
  const bytes = readFileSync(newest);
  const last = recordOffsets(bytes).at(-1);
  if (last === undefined) throw new Error(`${newest} holds no complete record`);
  const record = bytes.subarray(last);
  const torn = record.subarray(0, Math.max(recordHeaderBytes + 1, Math.floor(record.length / 2)));
  writeFileSync(newest, Buffer.concat([bytes, torn]));
  return newest;
}

/**
 * Cuts the newest segment a few bytes into its last entry record (type 1), dropping that entry and
 * every record after it: the node loses the newest entry it had synced (and so acknowledged), as
 * with a disk that lied about fdatasync. Returns the path.
 */
export function cutIntoLastEntry(dataDir: string, keepBytes = 5): string {
  const newest = walSegments(dataDir).at(-1);
  if (newest === undefined) throw new Error(`no WAL segment in ${dataDir}`);
  const bytes = readFileSync(newest);
  const last = recordOffsets(bytes)
    .filter((at) => bytes[at + 4] === 1)
    .at(-1);
  if (last === undefined) throw new Error(`${newest} holds no entry record`);
  truncateSync(newest, last + keepBytes);
  return newest;
}
