import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SortedKeys } from "./sorted-keys.ts";

describe("SortedKeys", () => {
  it("agrees with a sorted Set after random adds and deletes", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.stringMatching(/^[ab/]{0,4}$/))), fc.stringMatching(/^[ab/]{0,2}$/), (ops, prefix) => {
        const keys = new SortedKeys();
        const model = new Set<string>();
        for (const [add, key] of ops) {
          if (add) {
            keys.add(key);
            model.add(key);
          } else {
            keys.delete(key);
            model.delete(key);
          }
        }
        const expected = [...model].filter((k) => k.startsWith(prefix)).sort();
        expect(keys.withPrefix(prefix)).toEqual(expected);
        expect(keys.size).toBe(model.size);
      }),
    );
  });

  it("keeps order across chunk splits and merges (thousands of keys)", () => {
    const keys = new SortedKeys();
    const model = new Set<string>();
    // A fixed pseudo-random order (multiplicative hash), enough keys for several 512-key chunks.
    for (let i = 0; i < 6000; i++) {
      const key = `k/${(i * 7919) % 6000}`;
      keys.add(key);
      model.add(key);
    }
    for (let i = 0; i < 6000; i += 3) {
      keys.delete(`k/${i}`);
      model.delete(`k/${i}`);
    }
    keys.add("k/1");
    expect(keys.size).toBe(model.size);
    expect(keys.withPrefix("")).toEqual([...model].sort());
    expect(keys.withPrefix("k/59")).toEqual([...model].filter((k) => k.startsWith("k/59")).sort());
    for (const key of [...model]) keys.delete(key);
    expect(keys.size).toBe(0);
    expect(keys.withPrefix("")).toEqual([]);
  });
});
