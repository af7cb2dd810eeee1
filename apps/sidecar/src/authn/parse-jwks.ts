// Reads a JSON Web Key Set (RFC 7517 §5) into verification keys, accepting and skipping keys the
// way Envoy's jwt_verify_lib does (Jwks::createFromJwksCore): a key with a bad or unsupported
// field is left out, and a set left without keys is an error. A PEM public key is accepted too.
import type { KeyObject } from "node:crypto";
import { nodeCrypto } from "../lazy-builtins.ts";
import type { JwtStatus } from "./jwt-status.ts";

/** One usable key. */
export interface Jwk {
  /** "" when the key has no kid (it is then tried for every token). */
  readonly kid: string;
  /** "" when the key does not restrict the algorithm. */
  readonly alg: string;
  readonly kty: "RSA" | "EC" | "OKP" | "oct";
  /** EC: P-256 / P-384 / P-521; OKP: Ed25519; "" otherwise. */
  readonly crv: string;
  readonly key: KeyObject;
}

/** Largest key set read (inline or fetched); issuers publish a few kilobytes. */
export const maxJwksBytes = 1024 * 1024;

/** The usable keys of `text`, or why there are none. Never throws. */
export function parseJwks(text: string): readonly Jwk[] | JwtStatus {
  if (text.length > maxJwksBytes) return "JwksParseError";
  if (text.trimStart().startsWith("-----BEGIN")) return parsePem(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "JwksParseError";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "JwksParseError";
  if (!Object.hasOwn(value, "keys")) return "JwksNoKeys";
  const keys = (value as { keys: unknown }).keys;
  if (!Array.isArray(keys)) return "JwksBadKeys";
  const out: Jwk[] = [];
  for (const entry of keys) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) continue;
    const jwk = readJwk(entry as Record<string, unknown>);
    if (jwk !== undefined) out.push(jwk);
  }
  return out.length > 0 ? out : "JwksNoValidKeys";
}

function str(entry: Record<string, unknown>, key: string): string | undefined | null {
  if (!Object.hasOwn(entry, key)) return undefined;
  const value = entry[key];
  return typeof value === "string" ? value : null;
}

function readJwk(entry: Record<string, unknown>): Jwk | undefined {
  const kty = str(entry, "kty");
  const kid = str(entry, "kid");
  const alg = str(entry, "alg");
  if (typeof kty !== "string") return undefined;
  const kidText = typeof kid === "string" ? kid : "";
  const algText = typeof alg === "string" ? alg : "";
  try {
    switch (kty) {
      case "RSA": {
        if (algText !== "" && !algText.startsWith("RS") && !algText.startsWith("PS")) return undefined;
        const n = str(entry, "n");
        const e = str(entry, "e");
        if (typeof n !== "string" || typeof e !== "string" || !isStandardExponent(e)) return undefined;
        const key = nodeCrypto().createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" });
        return { kid: kidText, alg: algText, kty, crv: "", key };
      }
      case "EC": {
        if (algText !== "" && !algText.startsWith("ES")) return undefined;
        const crvField = str(entry, "crv");
        if (crvField === null) return undefined;
        const crv = ecCurve(algText, crvField ?? "");
        if (crv === undefined) return undefined;
        const x = str(entry, "x");
        const y = str(entry, "y");
        if (typeof x !== "string" || typeof y !== "string") return undefined;
        const key = nodeCrypto().createPublicKey({ key: { kty: "EC", crv, x, y }, format: "jwk" });
        return { kid: kidText, alg: algText, kty, crv, key };
      }
      case "OKP": {
        if (algText !== "" && algText !== "EdDSA") return undefined;
        const x = str(entry, "x");
        if (str(entry, "crv") !== "Ed25519" || typeof x !== "string" || Buffer.from(x, "base64url").length !== 32) return undefined;
        const key = nodeCrypto().createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
        return { kid: kidText, alg: algText, kty, crv: "Ed25519", key };
      }
      case "oct": {
        if (algText !== "" && algText !== "HS256" && algText !== "HS384" && algText !== "HS512") return undefined;
        const k = str(entry, "k");
        if (typeof k !== "string") return undefined;
        const secret = Buffer.from(k, "base64url");
        if (secret.length === 0) return undefined;
        return { kid: kidText, alg: algText, kty, crv: "", key: nodeCrypto().createSecretKey(secret) };
      }
      default:
        return undefined;
    }
  } catch {
    // Node refused the key material (a point off the curve, a malformed modulus): skip the key, as Envoy does.
    return undefined;
  }
}

/** Envoy accepts only e = 3 or 65537 ("non-standard key; reject it early"). */
function isStandardExponent(e: string): boolean {
  const bytes = Buffer.from(e, "base64url");
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  const rest = bytes.subarray(i);
  return (rest.length === 1 && rest[0] === 3) || (rest.length === 3 && rest[0] === 1 && rest[1] === 0 && rest[2] === 1);
}

/** Curve of an EC key from its alg and crv (Envoy: alg and crv must agree; neither means P-256). */
function ecCurve(alg: string, crv: string): string | undefined {
  const byAlg: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };
  if (alg !== "" && crv !== "") return byAlg[alg] === crv ? crv : undefined;
  if (alg !== "") return byAlg[alg];
  if (crv === "") return "P-256";
  return crv === "P-256" || crv === "P-384" || crv === "P-521" ? crv : undefined;
}

function parsePem(text: string): readonly Jwk[] | JwtStatus {
  try {
    const key = nodeCrypto().createPublicKey(text);
    switch (key.asymmetricKeyType) {
      case "rsa":
        return [{ kid: "", alg: "", kty: "RSA", crv: "", key }];
      case "ec": {
        const curve = key.asymmetricKeyDetails?.namedCurve;
        const crv = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : undefined;
        return crv === undefined ? "JwksNoValidKeys" : [{ kid: "", alg: "", kty: "EC", crv, key }];
      }
      case "ed25519":
        return [{ kid: "", alg: "", kty: "OKP", crv: "Ed25519", key }];
      default:
        return "JwksNoValidKeys";
    }
  } catch {
    return "JwksParseError";
  }
}
