// The JWT signing keys as data: rotation keeps the replaced key published exactly as long as its
// JWT-SVIDs live, pruning drops it afterwards, and the published sets carry kid/use/alg.
import { describe, expect, it } from "vitest";
import { jwksOf, jwtSvidClaims, pruneJwtKeys, rotateJwtKeys, type JwtKeySet, type PublishedJwtKey } from "./jwt-key-set.ts";

const key = (kid: string): PublishedJwtKey => ({ kid, jwk: { kty: "EC", crv: "P-256", x: `${kid}-x`, y: `${kid}-y` } });
const set: JwtKeySet = { signing: key("a"), retired: [] };

describe("JWT key set", () => {
  it("rotateJwtKeys() signs with the new key and publishes the old one for retainMs", () => {
    const rotated = rotateJwtKeys(set, key("b"), 1_000, 360_000);
    expect(rotated.signing.kid).toBe("b");
    expect(rotated.retired).toEqual([{ ...key("a"), publishUntilMs: 361_000 }]);
    expect(jwksOf(rotated, "jwt-svid").keys.map((k) => k.kid)).toEqual(["b", "a"]);
  });

  it("pruneJwtKeys() drops a retired key once its JWT-SVIDs have expired, and only then", () => {
    const rotated = rotateJwtKeys(set, key("b"), 1_000, 360_000);
    expect(pruneJwtKeys(rotated, 360_999)).toBe(rotated);
    expect(pruneJwtKeys(rotated, 361_000).retired).toEqual([]);
    // A second rotation prunes what has expired and retires the current key.
    expect(rotateJwtKeys(rotated, key("c"), 400_000, 10).retired.map((k) => k.kid)).toEqual(["b"]);
  });

  it("jwksOf() publishes kid, use and alg with the public point", () => {
    expect(jwksOf(set, "sig")).toEqual({ keys: [{ kty: "EC", crv: "P-256", x: "a-x", y: "a-y", kid: "a", use: "sig", alg: "ES256" }] });
  });

  it("jwtSvidClaims() writes sub, aud (a string for one), exp = iat + ttl, and iss only when set", () => {
    const now = new Date("2026-01-01T00:00:00.900Z");
    expect(jwtSvidClaims({ spiffeId: "spiffe://td/ns/a/sa/b", audiences: ["api"], now, ttlSeconds: 300, issuer: undefined })).toEqual({ sub: "spiffe://td/ns/a/sa/b", aud: "api", iat: 1767225600, exp: 1767225900 });
    expect(jwtSvidClaims({ spiffeId: "spiffe://td/x", audiences: ["a", "b"], now, ttlSeconds: 60, issuer: "https://ca" })).toMatchObject({ iss: "https://ca", aud: ["a", "b"] });
  });
});
