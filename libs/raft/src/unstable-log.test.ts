import { describe, expect, it } from "vitest";
import type { Entry, Snapshot } from "./entry.ts";
import type { LogIndex, Term } from "./ids.ts";
import { UnstableLog } from "./unstable-log.ts";

const entry = (index: number, term: number): Entry => ({ index: index as LogIndex, term: term as Term, type: "normal", data: new Uint8Array(0) });
const snapshot = (index: number, term: number): Snapshot => ({ metadata: { index: index as LogIndex, term: term as Term, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) });
const held = (u: UnstableLog): string => u.entries.map((e) => `${e.term}/${e.index}`).join(" ");

describe("UnstableLog", () => {
  it("truncateAndAppend() appends, replaces a suffix, or replaces everything", () => {
    const u = new UnstableLog(5 as LogIndex);
    u.truncateAndAppend([entry(5, 1), entry(6, 1)]);
    u.truncateAndAppend([entry(7, 1)]);
    expect(held(u)).toBe("1/5 1/6 1/7");
    u.truncateAndAppend([entry(6, 2)]);
    expect(held(u)).toBe("1/5 2/6");
    u.truncateAndAppend([entry(4, 3), entry(5, 3)]);
    expect([held(u), u.offset]).toEqual(["3/4 3/5", 4]);
  });

  it("stableTo() drops persisted entries, unless they were replaced meanwhile (their term differs)", () => {
    const u = new UnstableLog(5 as LogIndex);
    u.truncateAndAppend([entry(5, 1), entry(6, 1), entry(7, 1)]);
    u.stableTo(6 as LogIndex, 1 as Term);
    expect([held(u), u.offset]).toEqual(["1/7", 7]);
    u.truncateAndAppend([entry(7, 2)]);
    u.stableTo(7 as LogIndex, 1 as Term);
    expect(held(u)).toBe("2/7");
    u.stableTo(9 as LogIndex, 2 as Term);
    expect(held(u)).toBe("2/7");
  });

  it("answers first/last index and terms from its entries and its snapshot", () => {
    const u = new UnstableLog(5 as LogIndex);
    expect([u.maybeFirstIndex(), u.maybeLastIndex(), u.maybeTerm(4 as LogIndex)]).toEqual([undefined, undefined, undefined]);
    u.restore(snapshot(9, 3));
    expect([u.maybeFirstIndex(), u.maybeLastIndex(), u.maybeTerm(9 as LogIndex), u.offset]).toEqual([10, 9, 3, 10]);
    u.truncateAndAppend([entry(10, 3)]);
    expect([u.maybeLastIndex(), u.maybeTerm(10 as LogIndex), u.maybeTerm(8 as LogIndex)]).toEqual([10, 3, undefined]);
    u.stableSnapTo(8 as LogIndex);
    expect(u.snapshot).not.toBeNull();
    u.stableSnapTo(9 as LogIndex);
    expect(u.snapshot).toBeNull();
  });

  it("slice() refuses bounds outside what it holds", () => {
    const u = new UnstableLog(5 as LogIndex);
    u.truncateAndAppend([entry(5, 1), entry(6, 1)]);
    expect(u.slice(5 as LogIndex, 7 as LogIndex)).toHaveLength(2);
    expect(() => u.slice(4 as LogIndex, 6 as LogIndex)).toThrow(RangeError);
    expect(() => u.slice(5 as LogIndex, 8 as LogIndex)).toThrow(RangeError);
  });
});
