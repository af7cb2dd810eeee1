// Checks a parsed token's signature against a key set, choosing keys as Envoy's jwt_verify_lib
// does (verifyJwtWithoutTimeChecking): keys whose kid or alg differ from the token's are skipped,
// the others are tried in order. A key is only ever used with the algorithm family of its type,
// so an RSA public key cannot be passed off as an HMAC secret (RFC 8725 §2.1).
import type { KeyObject } from "node:crypto";
import { nodeCrypto } from "../lazy-builtins.ts";
import type { JwtStatus } from "./jwt-status.ts";
import type { Jwk } from "./parse-jwks.ts";
import type { JwtAlgorithm, ParsedJwt } from "./parse-jwt.ts";

/**
 * "Ok" when a key verifies the signature; JwksKidAlgMismatch when no key has the token's kid and
 * alg (the caller may refetch the set); JwtVerificationFail when keys matched but none verified.
 */
export function verifySignature(jwt: ParsedJwt, keys: readonly Jwk[]): "Ok" | JwtStatus {
  let matched = false;
  let data: Buffer | undefined;
  for (const jwk of keys) {
    if (jwt.kid !== "" && jwk.kid !== "" && jwk.kid !== jwt.kid) continue;
    if (jwk.alg !== "" && jwk.alg !== jwt.alg) continue;
    matched = true;
    if (!fitsKey(jwt.alg, jwk)) continue;
    if (jwt.alg === "EdDSA" && jwt.signature.length !== 64) return "JwtEd25519SignatureWrongLength";
    data ??= Buffer.from(jwt.signingInput, "latin1");
    if (checkSignature(jwt.alg, jwk.key, data, jwt.signature)) return "Ok";
  }
  return matched ? "JwtVerificationFail" : "JwksKidAlgMismatch";
}

const ecCurves: Partial<Record<JwtAlgorithm, string>> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };

/** Whether the token's alg can be verified with this kind of key at all. */
function fitsKey(alg: JwtAlgorithm, jwk: Jwk): boolean {
  switch (jwk.kty) {
    case "RSA":
      return alg.startsWith("RS") || alg.startsWith("PS");
    case "EC":
      return ecCurves[alg] === jwk.crv;
    case "OKP":
      return alg === "EdDSA";
    case "oct":
      return alg.startsWith("HS");
  }
}

const digests: Record<JwtAlgorithm, string | null> = {
  RS256: "sha256", RS384: "sha384", RS512: "sha512",
  PS256: "sha256", PS384: "sha384", PS512: "sha512",
  ES256: "sha256", ES384: "sha384", ES512: "sha512",
  HS256: "sha256", HS384: "sha384", HS512: "sha512",
  EdDSA: null,
};

function checkSignature(alg: JwtAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const { constants, createHmac, timingSafeEqual, verify } = nodeCrypto();
  try {
    const digest = digests[alg];
    if (alg.startsWith("HS")) {
      const mac = createHmac(digest as string, key).update(data).digest();
      return mac.length === signature.length && timingSafeEqual(mac, signature);
    }
    if (alg.startsWith("PS")) {
      return verify(digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    }
    if (alg.startsWith("ES")) {
      // JWS ECDSA signatures are r || s of fixed size (RFC 7518 §3.4), not DER.
      return verify(digest, data, { key, dsaEncoding: "ieee-p1363" }, signature);
    }
    return verify(digest, data, key, signature);
  } catch {
    // A signature of the wrong size for the key makes OpenSSL throw rather than return false.
    return false;
  }
}
