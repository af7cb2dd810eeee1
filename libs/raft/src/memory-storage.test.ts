import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { entrySizeBytes } from "./entry.ts";
import type { Entry } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import { MemoryStorage } from "./memory-storage.ts";

const entry = (index: number, term: number, size = 0): Entry => ({ index: index as LogIndex, term: term as Term, type: "normal", data: new Uint8Array(size) });
const run = (from: number, terms: number[]): Entry[] => terms.map((t, i) => entry(from + i, t));
const confState = { voters: ["1" as NodeId], learners: [] };

describe("MemoryStorage", () => {
  it("starts empty: firstIndex 1, lastIndex 0, term(0) = 0, and the given membership", () => {
    const s = new MemoryStorage({ confState });
    expect([s.firstIndex(), s.lastIndex(), s.term(0 as LogIndex)]).toEqual([1, 0, 0]);
    expect(s.initialState().confState).toEqual(confState);
    expect(s.term(1 as LogIndex)).toBeUndefined();
  });

  it("append() truncates a conflicting suffix before appending (Raft §5.3)", () => {
    const s = new MemoryStorage();
    s.append(run(1, [1, 1, 1, 2]));
    s.append(run(3, [3]));
    expect([s.lastIndex(), s.term(2 as LogIndex), s.term(3 as LogIndex), s.term(4 as LogIndex)]).toEqual([3, 1, 3, undefined]);
  });

  it("append() refuses a gap and skips entries already compacted", () => {
    const s = new MemoryStorage();
    s.append(run(1, [1, 1, 1, 1, 1]));
    expect(() => s.append(run(8, [1]))).toThrow(/gap/);
    expect(s.createSnapshot(3 as LogIndex, confState, new Uint8Array(0)).ok).toBe(true);
    expect(s.compact(3 as LogIndex).ok).toBe(true);
    s.append(run(2, [1, 1, 2, 2]));
    expect([s.firstIndex(), s.lastIndex(), s.term(3 as LogIndex), s.term(4 as LogIndex), s.term(5 as LogIndex)]).toEqual([4, 5, 1, 2, 2]);
  });

  it("entries() honours the byte budget but returns at least one entry", () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10)]);
    const one = entrySizeBytes(entry(1, 1, 10));
    expect(s.entries(1 as LogIndex, 4 as LogIndex, 0)).toHaveLength(1);
    expect(s.entries(1 as LogIndex, 4 as LogIndex, 2 * one)).toHaveLength(2);
    expect(s.entries(1 as LogIndex, 4 as LogIndex, Number.POSITIVE_INFINITY)).toHaveLength(3);
    expect(() => s.entries(0 as LogIndex, 2 as LogIndex, 100)).toThrow(RangeError);
  });

  it("compact() keeps the term of the last compacted entry and refuses what it cannot do", () => {
    const s = new MemoryStorage();
    s.append(run(1, [1, 2, 3, 4, 5]));
    expect(s.compact(2 as LogIndex)).toEqual({ ok: false, reason: "unavailable" });
    s.createSnapshot(4 as LogIndex, confState, new Uint8Array([7]));
    expect(s.compact(2 as LogIndex)).toEqual({ ok: true });
    expect([s.firstIndex(), s.term(2 as LogIndex), s.term(1 as LogIndex)]).toEqual([3, 2, undefined]);
    expect(s.compact(2 as LogIndex)).toEqual({ ok: false, reason: "compacted" });
    expect(s.compact(4 as LogIndex)).toEqual({ ok: true });
    expect([s.firstIndex(), s.lastIndex(), s.term(4 as LogIndex)]).toEqual([5, 5, 4]);
  });

  it("createSnapshot() refuses an old index or one past the log", () => {
    const s = new MemoryStorage();
    s.append(run(1, [1, 1, 2]));
    expect(s.createSnapshot(2 as LogIndex, confState, new Uint8Array(0))).toEqual({ ok: true });
    expect(s.snapshot().metadata).toEqual({ index: 2, term: 1, confState });
    expect(s.createSnapshot(2 as LogIndex, confState, new Uint8Array(0))).toEqual({ ok: false, reason: "snapshot-out-of-date" });
    expect(s.createSnapshot(9 as LogIndex, confState, new Uint8Array(0))).toEqual({ ok: false, reason: "unavailable" });
  });

  it("applySnapshot() replaces the log and refuses an older snapshot", () => {
    const s = new MemoryStorage();
    s.append(run(1, [1, 1, 1]));
    const snap = { metadata: { index: 10 as LogIndex, term: 4 as Term, confState }, data: new Uint8Array([1]) };
    expect(s.applySnapshot(snap)).toEqual({ ok: true });
    expect([s.firstIndex(), s.lastIndex(), s.term(10 as LogIndex)]).toEqual([11, 10, 4]);
    expect(s.initialState().confState).toEqual(confState);
    expect(s.applySnapshot({ ...snap, metadata: { ...snap.metadata, index: 9 as LogIndex } })).toEqual({ ok: false, reason: "snapshot-out-of-date" });
  });

  it("behaves like a plain array of terms under random appends and compactions (property)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("append" as const), back: fc.nat({ max: 4 }), terms: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant("compact" as const), back: fc.nat({ max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const s = new MemoryStorage();
        const model: number[] = [0]; // model[i] = term at index i; model[0] = 0
        let first = 1;
        for (const o of ops) {
          const last = model.length - 1;
          if (o.kind === "append") {
            const from = Math.max(first, last + 1 - o.back);
            s.append(run(from, o.terms));
            model.length = from;
            model.push(...o.terms);
          } else {
            const at = last - o.back;
            if (at < first) continue;
            expect(s.createSnapshot(at as LogIndex, confState, new Uint8Array(0)).ok || at <= s.snapshot().metadata.index).toBe(true);
            expect(s.compact(at as LogIndex).ok).toBe(true);
            first = at + 1;
          }
          expect([s.firstIndex(), s.lastIndex()]).toEqual([first, model.length - 1]);
          for (let i = first - 1; i < model.length; i++) expect(s.term(i as LogIndex)).toBe(model[i]);
        }
      }),
    );
  });
});
