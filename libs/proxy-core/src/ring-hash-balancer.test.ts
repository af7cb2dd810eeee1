import { describe, expect, it } from "vitest";
import { assign, movedShare } from "../tests/consistency.ts";
import { makeEndpoints } from "../tests/endpoints.ts";
import { hashString } from "./hash-string.ts";
import { createRingHashBalancer } from "./ring-hash-balancer.ts";

const noRandom = (): number => {
  throw new Error("a keyed pick must not draw randomness");
};

describe("createRingHashBalancer", () => {
  it("sends the same key to the same endpoint every time", () => {
    const lb = createRingHashBalancer(makeEndpoints(8), { random: noRandom });
    const key = hashString("session-42");
    expect(new Set(Array.from({ length: 10 }, () => lb.pick(key))).size).toBe(1);
  });

  it("has at least minimumRingSize points, shared by weight", () => {
    const endpoints = makeEndpoints(3, (i) => ({ weight: [1, 1, 2][i] as number }));
    const lb = createRingHashBalancer(endpoints, { minimumRingSize: 1024, random: noRandom });
    expect(lb.ringSize).toBeGreaterThanOrEqual(1024);
    const counts = [0, 0, 0];
    for (const address of assign(lb, endpoints, 20_000)) {
      const i = endpoints.findIndex((e) => e.address === address);
      counts[i] = (counts[i] ?? 0) + 1;
    }
    // Ring shares are uneven by construction (arc lengths), so compare loosely: the heavy one gets about half.
    expect((counts[2] as number) / 20_000).toBeGreaterThan(0.4);
    expect((counts[2] as number) / 20_000).toBeLessThan(0.6);
  });

  it("moves ≈ 1/n of keys when one of n endpoints goes, all of them the removed one's", () => {
    const endpoints = makeEndpoints(10);
    const before = assign(createRingHashBalancer(endpoints, { random: noRandom }), endpoints, 20_000);
    const removed = endpoints[3]?.address;
    const rest = endpoints.filter((e) => e.address !== removed);
    const after = assign(createRingHashBalancer(rest, { random: noRandom }), rest, 20_000);
    before.forEach((address, i) => {
      if (address === removed) expect(after[i]).not.toBe(removed);
    });
    // The ring is rescaled to keep minimumRingSize points (as Envoy does: 103 → 114 points per
    // endpoint here), so some keys move between the survivors too; the total stays near 1/n.
    const owned = before.filter((a) => a === removed).length / before.length;
    const share = movedShare(before, after);
    expect(owned).toBeGreaterThan(0.05);
    expect(owned).toBeLessThan(0.15);
    expect(share - owned).toBeLessThan(0.1);
  });

  it("moves no other key when each endpoint keeps its points (Karger et al. 1997 monotonicity)", () => {
    const endpoints = makeEndpoints(10);
    const perEndpoint = 200;
    const before = assign(createRingHashBalancer(endpoints, { minimumRingSize: perEndpoint * 10, random: noRandom }), endpoints, 20_000);
    const removed = endpoints[3]?.address;
    const rest = endpoints.filter((e) => e.address !== removed);
    const after = assign(createRingHashBalancer(rest, { minimumRingSize: perEndpoint * 9, random: noRandom }), rest, 20_000);
    before.forEach((address, i) => {
      if (address !== removed) expect(after[i]).toBe(address);
    });
  });

  it("picks at random without a key, and -1 with no endpoints", () => {
    const lb = createRingHashBalancer(makeEndpoints(4), { random: () => 0.999 });
    expect(lb.pick()).toBeGreaterThanOrEqual(0);
    expect(createRingHashBalancer([], { random: noRandom }).pick(1)).toBe(-1);
  });
});
