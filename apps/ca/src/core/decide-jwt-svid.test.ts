// The JWT-SVID decision: the token attests the ID exactly as for certificates; audiences are
// required; a named ID must be the attested one.
import { parseTrustDomain, type TrustDomain } from "@meshwork/pki";
import type { WorkloadTokenClaims } from "@meshwork/workload-identity";
import { describe, expect, it } from "vitest";
import { decideJwtSvid } from "./decide-jwt-svid.ts";

function td(name: string): TrustDomain {
  const parsed = parseTrustDomain(name);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.trustDomain;
}

const now = new Date("2026-11-22T10:00:00Z");
const nowSeconds = now.getTime() / 1000;
const policy = {
  trustDomain: td("cluster.local"),
  allowedTrustDomains: [td("cluster.local")],
  allowedNamespaces: ["shop"],
  tokenIssuer: "meshwork",
  tokenAudience: "meshwork-ca",
  defaultTtlSeconds: 3600,
  maxTtlSeconds: 86400,
  clockSkewSeconds: 60,
  jwtTtlSeconds: 300,
};
const claims: WorkloadTokenClaims = { iss: "meshwork", aud: "meshwork-ca", expSeconds: nowSeconds + 600, nbfSeconds: undefined, iatSeconds: undefined, ns: "shop", sa: "web", td: undefined, jti: undefined };
const webId = "spiffe://cluster.local/ns/shop/sa/web";

describe("decideJwtSvid", () => {
  it("grants the attested ID for the audiences (deduplicated) and the JWT TTL", () => {
    expect(decideJwtSvid({ audiences: ["api", "db", "api"], spiffeId: "" }, claims, policy, now)).toEqual({ type: "issue-jwt", spiffeId: webId, audiences: ["api", "db"], ttlSeconds: 300, oneTimeTokenId: undefined });
    expect(decideJwtSvid({ audiences: ["api"], spiffeId: webId }, { ...claims, jti: "j1" }, policy, now)).toMatchObject({ type: "issue-jwt", oneTimeTokenId: "j1" });
  });

  it.each<[string, { audiences: string[]; spiffeId: string }, Partial<WorkloadTokenClaims>, string]>([
    ["no audience", { audiences: [], spiffeId: "" }, {}, "audience-missing"],
    ["an empty audience", { audiences: ["api", ""], spiffeId: "" }, {}, "audience-missing"],
    ["another workload's ID", { audiences: ["api"], spiffeId: "spiffe://cluster.local/ns/shop/sa/admin" }, {}, "id-mismatch"],
    ["an expired token", { audiences: ["api"], spiffeId: "" }, { expSeconds: nowSeconds - 61 }, "token-expired"],
    ["a token for another audience", { audiences: ["api"], spiffeId: "" }, { aud: "someone-else" }, "token-wrong-audience"],
    ["a namespace the CA does not serve", { audiences: ["api"], spiffeId: "" }, { ns: "other" }, "namespace-not-allowed"],
  ])("refuses %s", (_name, request, changed, reason) => {
    expect(decideJwtSvid(request, { ...claims, ...changed }, policy, now)).toMatchObject({ type: "refuse", reason });
  });
});
