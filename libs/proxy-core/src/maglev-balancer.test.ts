import { describe, expect, it } from "vitest";
import { assign, movedShare } from "../tests/consistency.ts";
import { makeEndpoints } from "../tests/endpoints.ts";
import { createMaglevBalancer } from "./maglev-balancer.ts";

const noRandom = (): number => {
  throw new Error("a keyed pick must not draw randomness");
};

function tableShares(table: Int32Array, n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (const owner of table) counts[owner] = (counts[owner] ?? 0) + 1;
  return counts.map((c) => c / table.length);
}

describe("createMaglevBalancer", () => {
  it("fills every slot and balances equal weights to within one slot (Maglev §3.4)", () => {
    const lb = createMaglevBalancer(makeEndpoints(7), { tableSize: 65537, random: noRandom });
    expect(lb.table.includes(-1)).toBe(false);
    const counts = tableShares(lb.table, 7).map((s) => Math.round(s * 65537));
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it("gives table slots in proportion to weight", () => {
    const lb = createMaglevBalancer(makeEndpoints(3, (i) => ({ weight: [1, 2, 3][i] as number })), { tableSize: 65537, random: noRandom });
    const shares = tableShares(lb.table, 3);
    expect(shares[0]).toBeCloseTo(1 / 6, 2);
    expect(shares[1]).toBeCloseTo(2 / 6, 2);
    expect(shares[2]).toBeCloseTo(3 / 6, 2);
  });

  it("moves ≈ 1/n of keys when one of n endpoints goes, including all of its own", () => {
    const endpoints = makeEndpoints(10);
    const before = assign(createMaglevBalancer(endpoints, { random: noRandom }), endpoints, 20_000);
    const removed = endpoints[6]?.address;
    const rest = endpoints.filter((e) => e.address !== removed);
    const after = assign(createMaglevBalancer(rest, { random: noRandom }), rest, 20_000);
    before.forEach((address, i) => {
      if (address === removed) expect(after[i]).not.toBe(removed);
    });
    const share = movedShare(before, after);
    expect(share).toBeGreaterThan(0.08);
    // Maglev trades a little extra disruption for perfect balance; the paper reports a few percent.
    expect(share).toBeLessThan(0.15);
  });

  it("rejects a table size that is not prime", () => {
    expect(() => createMaglevBalancer(makeEndpoints(2), { tableSize: 65536, random: noRandom })).toThrow(/prime/);
  });
});
