// The write-ahead log's record framing: length, type, CRC-32C, payload. Records carry log
// entries, hard states (Raft §5.1 persistent state) and snapshot markers (§7); `decodeRecords`
// tells a torn tail (the unacknowledged last write) from corruption in the middle.
import type { Entry, HardState, LogIndex, NodeId, Term } from "@meshwork/raft";
import { crc32c } from "./crc32c.ts";

/** One WAL record, decoded. */
export type WalRecord =
  | { readonly type: "entry"; readonly entry: Entry }
  | { readonly type: "hard-state"; readonly hardState: HardState }
  /** A snapshot from the leader replaced the whole log (ready.snapshot). */
  | { readonly type: "snapshot-applied"; readonly index: LogIndex; readonly term: Term }
  /** The log up to `index` was compacted into a local snapshot; later entries stay. Also opens each segment. */
  | { readonly type: "snapshot-compacted"; readonly index: LogIndex; readonly term: Term };

/** Bytes before each payload: u32 payload length, u8 type, u32 CRC-32C of type and payload (little-endian). */
export const recordHeaderBytes = 9;

const typeCodes = { entry: 1, "hard-state": 2, "snapshot-applied": 3, "snapshot-compacted": 4 } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function putU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, n % 0x1_0000_0000, true);
  view.setUint32(at + 4, Math.floor(n / 0x1_0000_0000), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}

const noBytes = new Uint8Array(0);
const voteBytes = (hardState: HardState): Uint8Array => (hardState.vote === null ? noBytes : encoder.encode(hardState.vote));

/** The framed size of `record` (header and payload). */
export function recordBytes(record: WalRecord): number {
  switch (record.type) {
    case "entry":
      return recordHeaderBytes + 17 + record.entry.data.length;
    case "hard-state":
      return recordHeaderBytes + 17 + voteBytes(record.hardState).length;
    case "snapshot-applied":
    case "snapshot-compacted":
      return recordHeaderBytes + 16;
  }
}

/**
 * Frames `record` into `out` at `at` (room for `recordBytes(record)` bytes) and returns the offset
 * after it: the WAL encodes a whole Ready's records into one buffer, no buffer per record.
 */
export function writeRecord(record: WalRecord, out: Uint8Array, at: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const p = at + recordHeaderBytes;
  let payloadLength: number;
  switch (record.type) {
    case "entry": {
      const { entry } = record;
      putU64(view, p, entry.term);
      putU64(view, p + 8, entry.index);
      out[p + 16] = entry.type === "normal" ? 0 : 1;
      out.set(entry.data, p + 17);
      payloadLength = 17 + entry.data.length;
      break;
    }
    case "hard-state": {
      const { hardState } = record;
      const vote = voteBytes(hardState);
      putU64(view, p, hardState.term);
      putU64(view, p + 8, hardState.commit);
      out[p + 16] = hardState.vote === null ? 0 : 1;
      out.set(vote, p + 17);
      payloadLength = 17 + vote.length;
      break;
    }
    case "snapshot-applied":
    case "snapshot-compacted":
      putU64(view, p, record.index);
      putU64(view, p + 8, record.term);
      payloadLength = 16;
      break;
  }
  view.setUint32(at, payloadLength, true);
  out[at + 4] = typeCodes[record.type];
  view.setUint32(at + 5, crc32c(out, p, p + payloadLength, crc32c(out, at + 4, at + 5)), true);
  return p + payloadLength;
}

/** Frames one record. */
export function encodeRecord(record: WalRecord): Uint8Array {
  const out = new Uint8Array(recordBytes(record));
  writeRecord(record, out, 0);
  return out;
}

function decodePayload(code: number, payload: Uint8Array): WalRecord | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (code === typeCodes.entry && payload.length >= 17 && (payload[16] === 0 || payload[16] === 1)) {
    return {
      type: "entry",
      entry: { term: getU64(view, 0) as Term, index: getU64(view, 8) as LogIndex, type: payload[16] === 0 ? "normal" : "conf-change", data: payload.slice(17) },
    };
  }
  if (code === typeCodes["hard-state"] && payload.length >= 17 && (payload[16] === 0 || payload[16] === 1)) {
    const vote = payload[16] === 0 ? null : (decoder.decode(payload.subarray(17)) as NodeId);
    return { type: "hard-state", hardState: { term: getU64(view, 0) as Term, commit: getU64(view, 8) as LogIndex, vote } };
  }
  if ((code === typeCodes["snapshot-applied"] || code === typeCodes["snapshot-compacted"]) && payload.length === 16) {
    return { type: code === typeCodes["snapshot-applied"] ? "snapshot-applied" : "snapshot-compacted", index: getU64(view, 0) as LogIndex, term: getU64(view, 8) as Term };
  }
  return undefined;
}

/** Where decoding stopped early: a torn last record, or a damaged record with data after it. */
export interface RecordProblem {
  readonly kind: "torn-tail" | "corrupt";
  readonly offsetBytes: number;
  readonly detail: string;
}

/** The records of one segment's bytes, the length of the valid prefix, and the problem that ended it, if any. */
export interface DecodedRecords {
  readonly records: readonly WalRecord[];
  readonly validBytes: number;
  readonly problem?: RecordProblem;
}

/**
 * Decodes records until the end or the first bad one. A bad record that reaches the end of the
 * bytes (short header, payload cut off, or a failed CRC on the final record) is a "torn-tail": a
 * write that never completed and so was never acknowledged. A bad record with bytes after it is
 * "corrupt": something damaged data that had been synced. Only zeros after a bad record count as
 * nothing after it: the WAL extends its segment ahead of the records (the zeros are that extension,
 * or file space the kernel extended but never filled before a crash), and a torn record's unwritten
 * pages read as zeros too.
 */
export function decodeRecords(bytes: Uint8Array): DecodedRecords {
  const records: WalRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < recordHeaderBytes) return { records, validBytes: at, problem: { kind: "torn-tail", offsetBytes: at, detail: "record header cut off" } };
    const length = view.getUint32(at, true);
    const end = at + recordHeaderBytes + length;
    if (end > bytes.length || (length === 0 && isZeroFrom(bytes, at))) return { records, validBytes: at, problem: { kind: "torn-tail", offsetBytes: at, detail: `record of ${length} bytes cut off at ${bytes.length - at - recordHeaderBytes}` } };
    const code = bytes[at + 4] as number;
    const want = view.getUint32(at + 5, true);
    const got = crc32c(bytes, at + recordHeaderBytes, end, crc32c(bytes, at + 4, at + 5));
    const record = got === want ? decodePayload(code, bytes.subarray(at + recordHeaderBytes, end)) : undefined;
    if (record === undefined) {
      // A record always has a non-zero type and CRC, so zeros are never data.
      const kind = isZeroFrom(bytes, end) ? "torn-tail" : "corrupt";
      const detail = got !== want ? `CRC mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})` : `malformed record of type ${code}`;
      return { records, validBytes: at, problem: { kind, offsetBytes: at, detail } };
    }
    records.push(record);
    at = end;
  }
  return { records, validBytes: at };
}

function isZeroFrom(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
