import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { entrySizeBytes } from "./entry.ts";
import type { Entry, Snapshot } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { RaftLog } from "./raft-log.ts";

const entry = (index: number, term: number, size = 0): Entry => ({ index: index as LogIndex, term: term as Term, type: "normal", data: new Uint8Array(size) });
const run = (from: number, terms: number[]): Entry[] => terms.map((t, i) => entry(from + i, t));
const i = (n: number): LogIndex => n as LogIndex;
const t = (n: number): Term => n as Term;

/** A log whose first `stored` terms are in storage and the rest unstable. */
function logOf(terms: number[], stored = terms.length): RaftLog {
  const storage = new MemoryStorage();
  storage.append(run(1, terms.slice(0, stored)));
  const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
  if (stored < terms.length) log.append(run(stored + 1, terms.slice(stored)));
  return log;
}
const terms = (log: RaftLog): number[] => Array.from({ length: log.lastIndex() }, (_, k) => log.term(i(k + 1)) as number);

describe("RaftLog", () => {
  it("isUpToDate() compares last terms first, then lengths (Raft §5.4.1)", () => {
    const log = logOf([1, 2, 2]);
    expect(log.isUpToDate(i(1), t(3))).toBe(true);
    expect(log.isUpToDate(i(3), t(2))).toBe(true);
    expect(log.isUpToDate(i(2), t(2))).toBe(false);
    expect(log.isUpToDate(i(9), t(1))).toBe(false);
  });

  it("maybeAppend() refuses when (prevIndex, prevTerm) is absent (Raft §5.3 consistency check)", () => {
    const log = logOf([1, 1, 2]);
    expect(log.maybeAppend(i(3), t(1), i(3), run(4, [2]))).toBeUndefined();
    expect(log.maybeAppend(i(4), t(2), i(3), run(5, [2]))).toBeUndefined();
    expect(terms(log)).toEqual([1, 1, 2]);
  });

  it("maybeAppend() deletes a conflicting suffix and appends the new entries (Raft §5.3)", () => {
    const log = logOf([1, 1, 2, 2, 2]);
    expect(log.maybeAppend(i(2), t(1), i(0), run(3, [3, 3]))).toBe(4);
    expect(terms(log)).toEqual([1, 1, 3, 3]);
  });

  it("maybeAppend() ignores entries it already has, keeping a longer matching tail", () => {
    const log = logOf([1, 1, 2, 2]);
    expect(log.maybeAppend(i(1), t(1), i(0), run(2, [1, 2]))).toBe(3);
    expect(terms(log)).toEqual([1, 1, 2, 2]);
  });

  it("maybeAppend() commits min(leaderCommit, index of last new entry) (Raft §5.3)", () => {
    const log = logOf([1, 1]);
    log.maybeAppend(i(2), t(1), i(9), run(3, [1]));
    expect(log.committed).toBe(3);
    log.maybeAppend(i(3), t(1), i(2), []);
    expect(log.committed).toBe(3);
  });

  it("maybeAppend() treats a conflict with a committed entry as a broken invariant", () => {
    const log = logOf([1, 1, 1]);
    log.commitTo(i(3));
    expect(() => log.maybeAppend(i(1), t(1), i(3), run(2, [2]))).toThrow(/committed/);
  });

  it("findConflictByTerm() finds the last index at or below the probe whose term is not above it", () => {
    const log = logOf([1, 3, 3, 3, 5, 5, 5, 5, 5]);
    expect(log.findConflictByTerm(i(9), t(2))).toEqual({ index: 1, term: 1 });
    expect(log.findConflictByTerm(i(9), t(4))).toEqual({ index: 4, term: 3 });
    expect(log.findConflictByTerm(i(9), t(5))).toEqual({ index: 9, term: 5 });
    expect(log.findConflictByTerm(i(0), t(1))).toEqual({ index: 0, term: 0 });
  });

  it("maybeCommit() commits only an entry of the current term (Raft §5.4.2)", () => {
    const log = logOf([1, 2, 2, 3]);
    expect(log.maybeCommit(i(3), t(3))).toBe(false);
    expect(log.committed).toBe(0);
    expect(log.maybeCommit(i(4), t(3))).toBe(true);
    expect(log.committed).toBe(4);
    expect(log.maybeCommit(i(2), t(2))).toBe(false);
  });

  it("commitTo() never goes backwards and never past the last index", () => {
    const log = logOf([1, 1]);
    log.commitTo(i(2));
    log.commitTo(i(1));
    expect(log.committed).toBe(2);
    expect(() => log.commitTo(i(3))).toThrow(/past the last index/);
  });

  it("slice() joins stored and unstable entries within the byte budget (property against a plain array)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 30 }), { minLength: 1, maxLength: 12 }), fc.nat(), fc.nat(), fc.nat(), fc.nat({ max: 200 }), (sizes, a, b, c, budget) => {
        const entries = sizes.map((size, k) => entry(k + 1, 1, size));
        const stored = a % (entries.length + 1);
        const storage = new MemoryStorage();
        storage.append(entries.slice(0, stored));
        const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
        log.append(entries.slice(stored));
        const lo = 1 + (b % entries.length);
        const hi = lo + (c % (entries.length + 2 - lo));
        const got = log.slice(i(lo), i(hi), budget) ?? [];
        // Reference: the longest prefix of [lo, hi) within budget, at least one entry.
        const wanted = entries.slice(lo - 1, hi - 1);
        let n = 0;
        let total = 0;
        for (const e of wanted) {
          total += entrySizeBytes(e);
          if (n > 0 && total > budget) break;
          n++;
        }
        expect(got.map((e) => e.index)).toEqual(wanted.slice(0, n).map((e) => e.index));
      }),
    );
  });

  it("slice() answers undefined below the first index (compacted)", () => {
    const storage = new MemoryStorage();
    storage.append(run(1, [1, 1, 1]));
    storage.createSnapshot(i(2), { voters: [], learners: [] }, new Uint8Array(0));
    storage.compact(i(2));
    const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
    expect(log.slice(i(2), i(4), 100)).toBeUndefined();
    expect(log.entriesFrom(i(3), 100)).toHaveLength(1);
    expect(log.term(i(2))).toBe(1);
    expect(log.term(i(1))).toBeUndefined();
  });

  it("nextCommittedEntries() pages by maxApplyingBytes and waits while a snapshot is pending", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10)]);
    const log = new RaftLog(storage, 2 * entrySizeBytes(entry(1, 1, 10)));
    log.commitTo(i(3));
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([1, 2]);
    log.applying = i(2);
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([3]);
    const snap: Snapshot = { metadata: { index: i(5), term: t(1), confState: { voters: ["1" as NodeId], learners: [] } }, data: new Uint8Array(0) };
    log.restore(snap);
    expect(log.hasNextCommittedEntries()).toBe(false);
    expect([log.firstIndex(), log.lastIndex(), log.committed]).toEqual([6, 5, 5]);
    log.stableSnapTo(i(5));
    expect([log.applied, log.hasPendingSnapshot()]).toEqual([5, false]);
  });

  it("appliedTo() refuses to go backwards or past the commit index", () => {
    const log = logOf([1, 1, 1]);
    log.commitTo(i(2));
    log.appliedTo(i(2));
    expect(() => log.appliedTo(i(1))).toThrow(/applied/);
    expect(() => log.appliedTo(i(3))).toThrow(/applied/);
  });
});
