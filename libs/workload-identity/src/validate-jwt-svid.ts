// Validation of a JWT-SVID (SPIFFE JWT-SVID §3-4) against JWT authorities by trust domain, as the
// Workload API's ValidateJWTSVID does it (go-spiffe's jwtsvid.ParseAndValidate): the header's
// alg and kid, `sub` a SPIFFE ID whose trust domain has a bundle holding that kid, the
// signature, `exp` (and `nbf`) against `now`, and the audience among `aud`. A pure function of
// its inputs; node:crypto checks the signature.
import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from "node:crypto";
import { parseSpiffeId, type SpiffeId } from "@meshwork/pki";

/** The outcome: the SPIFFE ID and every claim, or a sentence saying why not. */
export type JwtSvidValidation =
  | { readonly ok: true; readonly spiffeId: SpiffeId; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly detail: string };

/** JWS algorithms JWT-SVID §3 allows (RFC 7518 §3.1), as node:crypto verify options. */
const algorithms: Readonly<Record<string, { readonly hash: string; readonly kty: string; readonly pss?: true }>> = {
  ES256: { hash: "sha256", kty: "EC" },
  ES384: { hash: "sha384", kty: "EC" },
  ES512: { hash: "sha512", kty: "EC" },
  RS256: { hash: "sha256", kty: "RSA" },
  RS384: { hash: "sha384", kty: "RSA" },
  RS512: { hash: "sha512", kty: "RSA" },
  PS256: { hash: "sha256", kty: "RSA", pss: true },
  PS384: { hash: "sha384", kty: "RSA", pss: true },
  PS512: { hash: "sha512", kty: "RSA", pss: true },
};

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The key `kid` of a JWK Set's JSON, or undefined. */
function findKey(jwksJson: string, kid: string): KeyObject | undefined {
  let keys: unknown;
  try {
    keys = (JSON.parse(jwksJson) as { keys?: unknown }).keys;
  } catch {
    return undefined;
  }
  if (!Array.isArray(keys)) return undefined;
  const jwk = keys.find((k: unknown): k is JsonWebKey & { kid: string } => typeof k === "object" && k !== null && (k as { kid?: unknown }).kid === kid);
  if (!jwk) return undefined;
  try {
    const { kid: _kid, use: _use, alg: _alg, key_ops: _ops, ...material } = jwk as JsonWebKey & { kid: string; use?: unknown; alg?: unknown; key_ops?: unknown };
    return createPublicKey({ key: material, format: "jwk" });
  } catch {
    return undefined;
  }
}

/**
 * Validates `token` for `audience` with `authorities` (trust domain name → JWK Set JSON) at
 * `nowSeconds`. Never throws on bad input.
 */
export function validateJwtSvid(token: string, options: { readonly audience: string; readonly authorities: ReadonlyMap<string, string>; readonly nowSeconds: number }): JwtSvidValidation {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, detail: "the token is not a JWS in compact serialization (three dot-separated parts)" };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  const claims = decodeJson(payloadPart);
  if (!header || !claims) return { ok: false, detail: "the token's header or payload is not base64url JSON" };
  const alg = typeof header["alg"] === "string" ? header["alg"] : "";
  const algorithm = algorithms[alg];
  if (!algorithm) return { ok: false, detail: `unsupported token signature algorithm "${alg}"` };
  const kid = header["kid"];
  if (typeof kid !== "string" || kid === "") return { ok: false, detail: "token header missing key id" };
  const sub = claims["sub"];
  const id = typeof sub === "string" ? parseSpiffeId(sub) : undefined;
  if (!id?.ok) return { ok: false, detail: `token has an invalid subject claim${typeof sub === "string" ? ` "${sub}"` : ""}: it must be a SPIFFE ID` };
  const jwks = options.authorities.get(id.trustDomain);
  if (jwks === undefined) return { ok: false, detail: `no bundle found for trust domain "${id.trustDomain}"` };
  const key = findKey(jwks, kid);
  if (!key) return { ok: false, detail: `no JWT authority "${kid}" found for trust domain "${id.trustDomain}"` };
  if (key.asymmetricKeyType?.toUpperCase() !== algorithm.kty) return { ok: false, detail: `JWT authority "${kid}" is not a ${algorithm.kty} key, the token is ${alg}` };
  const signature = Buffer.from(signaturePart, "base64url");
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  const valid = verify(algorithm.hash, signed, algorithm.kty === "EC" ? { key, dsaEncoding: "ieee-p1363" } : algorithm.pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : key, signature);
  if (!valid) return { ok: false, detail: "the token's signature does not verify with its JWT authority" };
  const exp = claims["exp"];
  if (typeof exp !== "number") return { ok: false, detail: "token missing exp claim" };
  if (options.nowSeconds >= exp) return { ok: false, detail: `token has expired (exp ${new Date(exp * 1000).toISOString()})` };
  const nbf = claims["nbf"];
  if (typeof nbf === "number" && options.nowSeconds < nbf) return { ok: false, detail: `token is not valid yet (nbf ${new Date(nbf * 1000).toISOString()})` };
  const aud = claims["aud"];
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === "string") : [];
  if (!audiences.includes(options.audience)) return { ok: false, detail: `expected audience in ${JSON.stringify(audiences)} (audience="${options.audience}")` };
  return { ok: true, spiffeId: id.id, claims };
}
