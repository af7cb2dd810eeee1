import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MinHeap } from "./min-heap.ts";

describe("MinHeap", () => {
  it("pops in ascending order and removes by predicate (property, against sorting)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -100, max: 100 })), fc.integer({ min: 2, max: 5 }), (values, modulus) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        values.forEach((v) => heap.push(v));
        const removed = heap.removeWhere((v) => v % modulus === 0);
        const popped: number[] = [];
        for (let v = heap.pop(); v !== undefined; v = heap.pop()) popped.push(v);
        expect(popped).toEqual(values.filter((v) => v % modulus !== 0).sort((a, b) => a - b));
        expect(removed.sort((a, b) => a - b)).toEqual(values.filter((v) => v % modulus === 0).sort((a, b) => a - b));
        expect(heap.size).toBe(0);
      }),
    );
  });
});
