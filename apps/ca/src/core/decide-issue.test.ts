// Table tests of the attestation decision: every refusal reason, clamping and the default TTL.
import { parseTrustDomain, type SpiffeId, type TrustDomain } from "@meshwork/pki";
import type { WorkloadTokenClaims } from "@meshwork/workload-identity";
import { describe, expect, it } from "vitest";
import { decideIssue, type IssuePolicy, type IssueRequest } from "./decide-issue.ts";

function td(name: string): TrustDomain {
  const parsed = parseTrustDomain(name);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.trustDomain;
}

const now = new Date("2026-11-22T10:00:00Z");
const nowSeconds = now.getTime() / 1000;
const policy: IssuePolicy = {
  trustDomain: td("cluster.local"),
  allowedTrustDomains: [td("cluster.local")],
  allowedNamespaces: ["default", "shop"],
  tokenIssuer: "meshwork",
  tokenAudience: "meshwork-ca",
  defaultTtlSeconds: 3600,
  maxTtlSeconds: 86400,
  clockSkewSeconds: 60,
};
const claims: WorkloadTokenClaims = {
  iss: "meshwork",
  aud: "meshwork-ca",
  expSeconds: nowSeconds + 600,
  nbfSeconds: nowSeconds - 10,
  iatSeconds: nowSeconds - 10,
  ns: "shop",
  sa: "web",
  td: undefined,
  jti: undefined,
};
const webId = "spiffe://cluster.local/ns/shop/sa/web" as SpiffeId;
const request: IssueRequest = { requestedId: webId, validitySeconds: 0 };

describe("decideIssue", () => {
  it.each<[string, Partial<IssueRequest>, Partial<WorkloadTokenClaims>, string]>([
    ["negative validity", { validitySeconds: -1 }, {}, "bad-validity"],
    ["fractional validity", { validitySeconds: 1.5 }, {}, "bad-validity"],
    ["other issuer", {}, { iss: "someone-else" }, "token-wrong-issuer"],
    ["other audience", {}, { aud: "istiod" }, "token-wrong-audience"],
    ["no matching audience in a list", {}, { aud: ["a", "b"] }, "token-wrong-audience"],
    ["expired beyond skew", {}, { expSeconds: nowSeconds - 61 }, "token-expired"],
    ["not yet valid beyond skew", {}, { nbfSeconds: nowSeconds + 61 }, "token-not-yet-valid"],
    ["foreign trust domain", {}, { td: "evil.example" }, "trust-domain-not-allowed"],
    ["invalid trust domain", {}, { td: "Bad Domain" }, "invalid-identity"],
    ["namespace not allowed", {}, { ns: "kube-system" }, "namespace-not-allowed"],
    ["service account with a slash", {}, { sa: "a/b" }, "invalid-identity"],
    ["CSR asks for another ID", { requestedId: "spiffe://cluster.local/ns/shop/sa/admin" as SpiffeId }, {}, "id-mismatch"],
    ["CSR asks for another trust domain", { requestedId: "spiffe://other.local/ns/shop/sa/web" as SpiffeId }, {}, "id-mismatch"],
  ])("refuses: %s", (_name, requestPatch, claimsPatch, reason) => {
    const decision = decideIssue({ ...request, ...requestPatch }, { ...claims, ...claimsPatch }, policy, now);
    expect(decision).toMatchObject({ type: "refuse", reason });
    if (decision.type === "refuse") expect(decision.message.length).toBeGreaterThan(10);
  });

  it.each<[string, Partial<IssueRequest>, Partial<WorkloadTokenClaims>, number, boolean]>([
    ["0 asks for the default TTL", { validitySeconds: 0 }, {}, 3600, false],
    ["a TTL within the limit", { validitySeconds: 600 }, {}, 600, false],
    ["a TTL above the limit is clamped", { validitySeconds: 7 * 86400 }, {}, 86400, true],
    ["a CSR without an ID", { requestedId: undefined }, {}, 3600, false],
    ["expiry within the skew", {}, { expSeconds: nowSeconds - 30 }, 3600, false],
    ["nbf within the skew", {}, { nbfSeconds: nowSeconds + 30 }, 3600, false],
    ["audience in a list", {}, { aud: ["x", "meshwork-ca"] }, 3600, false],
    ["explicit own trust domain", {}, { td: "cluster.local" }, 3600, false],
  ])("issues: %s", (_name, requestPatch, claimsPatch, ttlSeconds, clamped) => {
    expect(decideIssue({ ...request, ...requestPatch }, { ...claims, ...claimsPatch }, policy, now)).toEqual({
      type: "issue",
      spiffeId: webId,
      ttlSeconds,
      clamped,
      oneTimeTokenId: undefined,
    });
  });

  it("takes the ID from the token, whatever the CSR omits", () => {
    const decision = decideIssue({ requestedId: undefined, validitySeconds: 0 }, { ...claims, ns: "default", sa: "db" }, policy, now);
    expect(decision).toMatchObject({ type: "issue", spiffeId: "spiffe://cluster.local/ns/default/sa/db" });
  });

  it("passes a one-time token's jti on for the caller to spend", () => {
    expect(decideIssue(request, { ...claims, jti: "boot-1" }, policy, now)).toMatchObject({ type: "issue", oneTimeTokenId: "boot-1" });
  });

  it("allows every namespace when the list is empty", () => {
    expect(decideIssue({ ...request, requestedId: undefined }, { ...claims, ns: "anything", sa: "web" }, { ...policy, allowedNamespaces: [] }, now)).toMatchObject({ type: "issue" });
  });
});
