// Key sets as Envoy's jwt_verify_lib reads them: bad keys skipped, a set without usable keys refused.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseJwks } from "./parse-jwks.ts";
import { generateTestKey } from "./testing/sign-jwt.ts";

const rsa = generateTestKey("RS256", "r").jwk;
const ec = generateTestKey("ES256", "e").jwk;
const ed = generateTestKey("EdDSA", "d").jwk;
const kinds = (text: string) => {
  const keys = parseJwks(text);
  return typeof keys === "string" ? keys : keys.map((k) => `${k.kty}:${k.kid}:${k.crv}`);
};

describe("parseJwks", () => {
  it("reads RSA, EC, OKP and oct keys", () => {
    expect(kinds(JSON.stringify({ keys: [rsa, ec, ed, { kty: "oct", k: "c2VjcmV0", kid: "h" }] }))).toEqual(["RSA:r:", "EC:e:P-256", "OKP:d:Ed25519", "oct:h:"]);
  });

  it("refuses what is not a key set", () => {
    expect(kinds("nope")).toBe("JwksParseError");
    expect(kinds("[]")).toBe("JwksParseError");
    expect(kinds("{}")).toBe("JwksNoKeys");
    expect(kinds('{"keys": {}}')).toBe("JwksBadKeys");
    expect(kinds('{"keys": []}')).toBe("JwksNoValidKeys");
  });

  it("skips keys Envoy would refuse, keeping the others", () => {
    const bad = [
      { ...rsa, kid: "e5", e: "BQ" }, // e = 5: not 3 or 65537
      { ...rsa, kid: "es-alg", alg: "ES256" }, // RSA key with an EC alg
      { ...ec, kid: "crv-mismatch", alg: "ES384" }, // P-256 key marked ES384
      { ...ec, kid: "off-curve", y: ec["x"] }, // not a point on the curve
      { ...ed, kid: "short", x: "AAAA" }, // not 32 bytes
      { kty: "OKP", crv: "Ed448", x: ed["x"], kid: "ed448" },
      { kty: "oct", k: "", kid: "empty" },
      { kid: "no-kty" },
      "not an object",
    ];
    expect(kinds(JSON.stringify({ keys: [...bad, ec] }))).toEqual(["EC:e:P-256"]);
    expect(kinds(JSON.stringify({ keys: bad }))).toBe("JwksNoValidKeys");
  });

  it("takes an EC key without alg and crv as P-256", () => {
    const { crv: _crv, alg: _alg, ...bare } = ec;
    expect(kinds(JSON.stringify({ keys: [bare] }))).toEqual(["EC:e:P-256"]);
  });

  it("accepts a PEM public key", () => {
    const pem = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey.export({ format: "pem", type: "spki" }) as string;
    expect(kinds(pem)).toEqual(["EC::P-384"]);
    expect(kinds("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")).toBe("JwksParseError");
  });
});
