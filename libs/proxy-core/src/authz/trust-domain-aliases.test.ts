// Trust domain aliasing as in Istio's pilot/pkg/security/trustdomain tests.
import { describe, expect, it } from "vitest";
import { expandTrustDomainAliases } from "./trust-domain-aliases.ts";

describe("expandTrustDomainAliases", () => {
  it("rewrites the local trust domain, its aliases and cluster.local into every one of them", () => {
    expect(expandTrustDomainAliases(["td1/ns/foo/sa/bar"], ["td2", "td1"])).toEqual(["td2/ns/foo/sa/bar", "td1/ns/foo/sa/bar"]);
    expect(expandTrustDomainAliases(["cluster.local/ns/foo/sa/bar"], ["td2", "td1"])).toEqual(["td2/ns/foo/sa/bar", "td1/ns/foo/sa/bar"]);
  });

  it("keeps foreign trust domains, '*' trust domains and non-SPIFFE shapes as written", () => {
    expect(expandTrustDomainAliases(["other/ns/foo/sa/bar", "*/ns/foo/sa/bar", "sa/bar", "*"], ["td2", "td1"])).toEqual([
      "other/ns/foo/sa/bar",
      "*/ns/foo/sa/bar",
      "sa/bar",
      "*",
    ]);
  });

  it("keeps a *-prefixed trust domain once when it suffix-matches", () => {
    expect(expandTrustDomainAliases(["*-td/ns/foo/sa/bar"], ["old-td", "new-td"])).toEqual(["*-td/ns/foo/sa/bar"]);
  });

  it("without aliases maps cluster.local to the local trust domain", () => {
    expect(expandTrustDomainAliases(["cluster.local/ns/foo/sa/bar"], ["example.org"])).toEqual(["example.org/ns/foo/sa/bar"]);
  });
});
