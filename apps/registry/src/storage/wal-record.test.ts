// Checks record framing: round trips of every record type, torn tails at every cut, and
// corruption with data after it.
import fc from "fast-check";
import type { LogIndex, NodeId, Term } from "@meshwork/raft";
import { describe, expect, it } from "vitest";
import { decodeRecords, encodeRecord, recordBytes, writeRecord } from "./wal-record.ts";
import type { WalRecord } from "./wal-record.ts";

const u64 = fc.maxSafeNat();
const recordArb: fc.Arbitrary<WalRecord> = fc.oneof(
  fc.record({ term: u64, index: u64, kind: fc.constantFrom("normal" as const, "conf-change" as const), data: fc.uint8Array({ maxLength: 40 }) }).map(
    ({ term, index, kind, data }): WalRecord => ({ type: "entry", entry: { term: term as Term, index: index as LogIndex, type: kind, data } }),
  ),
  fc.record({ term: u64, commit: u64, vote: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: null }) }).map(
    ({ term, commit, vote }): WalRecord => ({ type: "hard-state", hardState: { term: term as Term, commit: commit as LogIndex, vote: vote as NodeId | null } }),
  ),
  fc.record({ index: u64, term: u64, applied: fc.boolean() }).map(
    ({ index, term, applied }): WalRecord => ({ type: applied ? "snapshot-applied" : "snapshot-compacted", index: index as LogIndex, term: term as Term }),
  ),
);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

describe("WAL records", () => {
  it("frame into a shared buffer at any offset exactly as one by one (recordBytes, writeRecord)", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 8 }), fc.nat({ max: 7 }), (records, offset) => {
        const total = records.reduce((n, r) => n + recordBytes(r), 0);
        const out = new Uint8Array(offset + total + 3).fill(0xee);
        let at = offset;
        for (const record of records) at = writeRecord(record, out, at);
        expect(at).toBe(offset + total);
        expect(out.subarray(offset, at)).toEqual(concat(records.map(encodeRecord)));
        expect([...out.subarray(0, offset), ...out.subarray(at)].every((b) => b === 0xee)).toBe(true);
      }),
    );
  });

  it("decode what was encoded", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 8 }), (records) => {
        const bytes = concat(records.map(encodeRecord));
        expect(decodeRecords(bytes)).toEqual({ records, validBytes: bytes.length });
      }),
      { seed: 1 },
    );
  });

  it("report a torn tail, keeping the whole records before it, wherever the last record is cut", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 4 }), fc.nat(), (records, cutSeed) => {
        const parts = records.map(encodeRecord);
        const head = concat(parts.slice(0, -1));
        const last = parts[parts.length - 1] as Uint8Array;
        const cut = 1 + (cutSeed % (last.length - 1));
        const decoded = decodeRecords(concat([head, last.subarray(0, cut)]));
        expect(decoded.records).toEqual(records.slice(0, -1));
        expect(decoded.validBytes).toBe(head.length);
        expect(decoded.problem?.kind).toBe("torn-tail");
      }),
      { seed: 2 },
    );
  });

  it("report zeros after the last whole record as a torn tail", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 4 }), fc.integer({ min: 1, max: 5000 }), (records, zeros) => {
        const head = concat(records.map(encodeRecord));
        const decoded = decodeRecords(concat([head, new Uint8Array(zeros)]));
        expect(decoded).toMatchObject({ records, validBytes: head.length, problem: { kind: "torn-tail", offsetBytes: head.length } });
      }),
      { seed: 4 },
    );
  });

  it("report corruption when a damaged record has data after it", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 2, maxLength: 4 }), fc.nat(), (records, flipSeed) => {
        const parts = records.map(encodeRecord);
        const first = parts[0] as Uint8Array;
        const damaged = first.slice();
        const at = 4 + (flipSeed % (first.length - 4)); // type, CRC or payload (a damaged length may read as a torn tail)
        damaged[at] = (damaged[at] as number) ^ 0x40;
        const decoded = decodeRecords(concat([damaged, ...parts.slice(1)]));
        expect(decoded.records).toEqual([]);
        expect(decoded.problem).toMatchObject({ kind: "corrupt", offsetBytes: 0 });
      }),
      { seed: 3 },
    );
  });
});
