// Trust bundles as immutable values: add / remove for root rotation, per-domain lookup.
import { describe, expect, it } from "vitest";
import type { TrustDomain } from "./spiffe-id.ts";
import { addRoot, allRoots, bundlesToCaPem, removeRoot, rootsOf, trustBundles } from "./trust-bundles.ts";
import { splitPem } from "./pem.ts";

const a = "a.example" as TrustDomain;
const b = "b.example" as TrustDomain;
const r1 = new Uint8Array([1, 1]);
const r2 = new Uint8Array([2, 2]);
const r3 = new Uint8Array([3]);

describe("trust bundles", () => {
  it("hold roots per trust domain, without duplicates (by bytes)", () => {
    const bundles = trustBundles([[a, [r1, new Uint8Array([1, 1])]], [b, [r3]]]);
    expect(rootsOf(bundles, a)).toEqual([r1]);
    expect(rootsOf(bundles, b)).toEqual([r3]);
    expect(rootsOf(bundles, "c.example" as TrustDomain)).toEqual([]);
    expect(allRoots(bundles)).toEqual([r1, r3]);
  });

  it("rotate: add the new root beside the old, then remove the old; earlier values are unchanged", () => {
    const before = trustBundles([[a, [r1]]]);
    const during = addRoot(before, a, r2);
    const after = removeRoot(during, a, r1);
    expect(rootsOf(before, a)).toEqual([r1]);
    expect(rootsOf(during, a)).toEqual([r1, r2]);
    expect(rootsOf(after, a)).toEqual([r2]);
    expect(addRoot(during, a, new Uint8Array([2, 2]))).toBe(during);
    expect(removeRoot(after, a, r1)).toBe(after);
  });

  it("drop a trust domain whose last root is removed", () => {
    const bundles = removeRoot(trustBundles([[a, [r1]], [b, [r3]]]), a, r1);
    expect([...bundles.byTrustDomain.keys()]).toEqual([b]);
  });

  it("render every root as the PEM `ca` option", () => {
    const split = splitPem(bundlesToCaPem(trustBundles([[a, [r1, r2]], [b, [r3]]])));
    expect(split.ok && split.blocks.map((blk) => blk.der)).toEqual([r1, r2, r3]);
  });
});
