import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Inflights } from "./inflights.ts";

describe("Inflights", () => {
  it("is full at maxCount messages or maxBytes bytes", () => {
    const byCount = new Inflights(2, Number.POSITIVE_INFINITY);
    byCount.add(1, 10);
    expect(byCount.isFull()).toBe(false);
    byCount.add(2, 10);
    expect(byCount.isFull()).toBe(true);
    expect(() => byCount.add(3, 10)).toThrow(/full/);
    const byBytes = new Inflights(10, 15);
    byBytes.add(1, 10);
    expect(byBytes.isFull()).toBe(false);
    byBytes.add(2, 10);
    expect(byBytes.isFull()).toBe(true);
  });

  it("freeLE() frees every message up to an index; indexes must grow", () => {
    const w = new Inflights(5, Number.POSITIVE_INFINITY);
    w.add(3, 1);
    w.add(5, 2);
    w.add(9, 4);
    w.freeLE(5);
    expect([w.count(), w.sizeBytes()]).toEqual([1, 4]);
    expect(() => w.add(9, 1)).toThrow(/grow/);
    w.freeLE(100);
    expect([w.count(), w.sizeBytes()]).toEqual([0, 0]);
  });

  it("matches a plain list under random adds and frees (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 5 }), fc.nat({ max: 9 })), { maxLength: 200 }), (ops) => {
        const w = new Inflights(8, 40);
        let model: { index: number; bytes: number }[] = [];
        let next = 1;
        for (const [isAdd, step, bytes] of ops) {
          if (isAdd) {
            if (w.isFull()) continue;
            next += step + 1;
            w.add(next, bytes);
            model.push({ index: next, bytes });
          } else {
            const upTo = next - step;
            w.freeLE(upTo);
            model = model.filter((m) => m.index > upTo);
          }
          const bytesInModel = model.reduce((a, m) => a + m.bytes, 0);
          expect([w.count(), w.sizeBytes()]).toEqual([model.length, bytesInModel]);
          expect(w.isFull()).toBe(model.length >= 8 || bytesInModel >= 40);
        }
      }),
    );
  });
});
