// ValidateJWTSVID's checks, each able to fail on its own: a good token passes with its claims;
// a wrong audience, an expired token, an unknown kid, a foreign trust domain, a non-SPIFFE sub,
// alg "none" and a tampered payload are each refused with the reason.
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { validateJwtSvid } from "./validate-jwt-svid.ts";

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k1", use: "jwt-svid" }] });
const authorities = new Map([["cluster.local", jwks]]);
const nowSeconds = 1_800_000_000;
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

function es256(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: "ES256", kid: "k1", typ: "JWT" }, key: KeyObject = privateKey): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
}

const claims = { sub: "spiffe://cluster.local/ns/shop/sa/web", aud: ["api", "db"], exp: nowSeconds + 60, iat: nowSeconds };
const check = (token: string, audience = "api") => validateJwtSvid(token, { audience, authorities, nowSeconds });

describe("validateJwtSvid", () => {
  it("accepts a JWT-SVID for one of its audiences and returns its SPIFFE ID and claims", () => {
    expect(check(es256(claims), "db")).toEqual({ ok: true, spiffeId: claims.sub, claims });
  });

  it.each<[string, string, string, RegExp]>([
    ["another audience", es256(claims), "web", /expected audience in \["api","db"\]/],
    ["an expired token", es256({ ...claims, exp: nowSeconds }), "api", /expired/],
    ["a token without exp", es256({ ...claims, exp: undefined }), "api", /missing exp/],
    ["an unknown kid", es256(claims, { alg: "ES256", kid: "k2" }), "api", /no JWT authority "k2"/],
    ["a missing kid", es256(claims, { alg: "ES256" }), "api", /missing key id/],
    ["a trust domain without a bundle", es256({ ...claims, sub: "spiffe://other.org/x" }), "api", /no bundle found for trust domain "other.org"/],
    ["a sub that is not a SPIFFE ID", es256({ ...claims, sub: "web" }), "api", /invalid subject/],
    ["alg none", `${b64({ alg: "none", kid: "k1" })}.${b64(claims)}.`, "api", /unsupported token signature algorithm "none"/],
    ["another key's signature", es256(claims, undefined, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey), "api", /signature does not verify/],
    ["a tampered payload", (() => { const [h, , s] = es256(claims).split("."); return `${h}.${b64({ ...claims, sub: "spiffe://cluster.local/ns/shop/sa/admin" })}.${s}`; })(), "api", /signature does not verify/],
    ["a non-JWS", "abc", "api", /compact serialization/],
  ])("refuses %s", (_name, token, audience, detail) => {
    const result = check(token, audience);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(detail);
  });
});
