// SPIFFE ID parsing against the spec's table (testdata/spiffe-ids.txt), the length limits of
// SPIFFE-ID §2.3, the workload-ID helpers, and a property test against a regex reference model.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatSpiffeId,
  isSpiffeId,
  parseSpiffeId,
  parseTrustDomain,
  parseWorkloadId,
  trustDomainId,
  trustDomainOf,
  workloadId,
  type SpiffeId,
  type TrustDomain,
} from "./spiffe-id.ts";

const table = readFileSync(join(import.meta.dirname, "../testdata/spiffe-ids.txt"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "" && !line.startsWith("#"))
  .map((line) => {
    const space = line.indexOf(" ");
    const raw = line.slice(space + 1);
    return { expected: line.slice(0, space), input: raw === '""' ? "" : raw };
  });

describe("parseSpiffeId() on testdata/spiffe-ids.txt", () => {
  it("has cases", () => expect(table.length).toBeGreaterThan(50));
  it.each(table)("$expected ← $input", ({ input, expected }) => {
    const result = parseSpiffeId(input);
    expect(result.ok ? "ok" : result.reason).toBe(expected);
    if (result.ok) expect(result.id).toBe(input);
    else expect(result.detail).not.toBe("");
  });
});

describe("parseSpiffeId()", () => {
  it("splits the trust domain and the path", () => {
    expect(parseSpiffeId("spiffe://example.org/ns/a/sa/b")).toEqual({ ok: true, id: "spiffe://example.org/ns/a/sa/b", trustDomain: "example.org", path: "/ns/a/sa/b" });
    expect(parseSpiffeId("spiffe://example.org")).toEqual({ ok: true, id: "spiffe://example.org", trustDomain: "example.org", path: "" });
  });

  it("accepts IDs of exactly 2048 bytes and refuses 2049 (SPIFFE-ID §2.3)", () => {
    const prefix = "spiffe://example.org/";
    expect(parseSpiffeId(prefix + "a".repeat(2048 - prefix.length)).ok).toBe(true);
    expect(parseSpiffeId(prefix + "a".repeat(2049 - prefix.length))).toMatchObject({ ok: false, reason: "too-long" });
  });

  it("accepts trust domains of 255 bytes and refuses 256 (SPIFFE-ID §2.3)", () => {
    expect(parseSpiffeId(`spiffe://${"a".repeat(255)}/x`).ok).toBe(true);
    expect(parseSpiffeId(`spiffe://${"a".repeat(256)}/x`)).toMatchObject({ ok: false, reason: "too-long" });
  });

  it("says what to do about an uppercase trust domain", () => {
    expect(parseSpiffeId("spiffe://Example.org")).toMatchObject({ detail: expect.stringContaining("lowercase") });
  });

  /** The reference model: the spec's grammar as one regular expression plus the length limits. */
  const reference = (s: string): boolean =>
    /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(s) &&
    !s.slice("spiffe://".length).split("/").slice(1).some((seg) => seg === "." || seg === "..") &&
    s.length <= 2048 &&
    (s.slice("spiffe://".length).split("/")[0] ?? "").length <= 255;

  it("agrees with the reference model on strings built from ID-like pieces", () => {
    const piece = fc.constantFrom("spiffe://", "spiffe:", "/", "//", ".", "..", "a", "Z", "9", "-", "_", ":", "@", "%", "?", "#", " ", "é", "example.org", "ns");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const s = pieces.join("");
        expect(parseSpiffeId(s).ok).toBe(reference(s));
      }),
      { seed: 42, numRuns: 3000 },
    );
  });
});

describe("formatSpiffeId() / workloadId()", () => {
  const td = "cluster.local" as TrustDomain;

  it("builds the workload ID spiffe://<td>/ns/<ns>/sa/<sa> (DESIGN.md §3.3)", () => {
    expect(workloadId({ trustDomain: td, namespace: "default", serviceAccount: "web" })).toMatchObject({ ok: true, id: "spiffe://cluster.local/ns/default/sa/web" });
  });

  it("refuses segments that would change the path's shape", () => {
    expect(workloadId({ trustDomain: td, namespace: "a/b", serviceAccount: "web" })).toMatchObject({ ok: false, reason: "path-char" });
    expect(workloadId({ trustDomain: td, namespace: "..", serviceAccount: "web" })).toMatchObject({ ok: false, reason: "dot-segment" });
    expect(workloadId({ trustDomain: td, namespace: "", serviceAccount: "web" })).toMatchObject({ ok: false, reason: "empty-segment" });
    expect(formatSpiffeId(td, ["ok", "not ok"])).toMatchObject({ ok: false, reason: "path-char" });
  });

  it("round-trips through parseWorkloadId()", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(segment, segment, (namespace, serviceAccount) => {
        const built = workloadId({ trustDomain: td, namespace, serviceAccount });
        if (!built.ok) throw new Error(built.detail);
        expect(parseWorkloadId(built.id)).toEqual({ ok: true, id: built.id, trustDomain: td, namespace, serviceAccount });
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it("parseWorkloadId() refuses other valid IDs", () => {
    for (const id of ["spiffe://td", "spiffe://td/ns/a", "spiffe://td/ns/a/sa/b/c", "spiffe://td/sa/a/ns/b", "spiffe://td/ns/a/xa/b"]) {
      expect(parseWorkloadId(id)).toMatchObject({ ok: false, reason: "not-a-workload-id" });
    }
    expect(parseWorkloadId("spiffe://td/ns/a/sa/")).toMatchObject({ ok: false, reason: "trailing-slash" });
  });
});

describe("trust domains", () => {
  it("parseTrustDomain() validates like the authority of an ID", () => {
    expect(parseTrustDomain("cluster.local")).toEqual({ ok: true, trustDomain: "cluster.local" });
    expect(parseTrustDomain("")).toMatchObject({ ok: false, reason: "missing-trust-domain" });
    expect(parseTrustDomain("Cluster.local")).toMatchObject({ ok: false, reason: "trust-domain-char" });
  });

  it("trustDomainOf() and trustDomainId()", () => {
    expect(trustDomainOf("spiffe://a.example/ns/x/sa/y" as SpiffeId)).toBe("a.example");
    expect(trustDomainOf("spiffe://a.example" as SpiffeId)).toBe("a.example");
    expect(trustDomainId("a.example" as TrustDomain)).toBe("spiffe://a.example");
    expect(isSpiffeId("spiffe://a.example/x")).toBe(true);
    expect(isSpiffeId("spiffe://a.example/x/")).toBe(false);
  });
});
