// Parses a JWS compact serialisation (RFC 7515 §7.1) into the header, the claims and the signature,
// with the checks and in the order of Envoy's jwt_verify_lib (Jwt::parseFromString). Never throws:
// any malformed input is a JwtStatus.
import type { JwtStatus } from "./jwt-status.ts";

/** Signature algorithms a token may name (Envoy's implemented set; `none` is not one). */
export type JwtAlgorithm = "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA" | "HS256" | "HS384" | "HS512";

const algorithms: ReadonlySet<string> = new Set<JwtAlgorithm>(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"]);

/** Longest token parsed; Envoy's own limit is the 60 KiB request head. */
export const maxTokenLength = 64 * 1024;

export interface ParsedJwt {
  readonly alg: JwtAlgorithm;
  /** `kid` header, "" when absent. */
  readonly kid: string;
  readonly header: Readonly<Record<string, unknown>>;
  /** The claims as sent. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** `iss`, "" when absent. */
  readonly iss: string;
  /** `sub`, "" when absent. */
  readonly sub: string;
  /** `aud` as a list (a single string becomes one item). */
  readonly audiences: readonly string[];
  /** Seconds since the epoch; 0 when absent. */
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  /** The signing input: `base64url(header).base64url(payload)`. */
  readonly signingInput: string;
  /** The payload as sent, base64url (for outputPayloadToHeader). */
  readonly payloadBase64url: string;
  readonly signature: Buffer;
}

/** The parsed token, or why it cannot be one. */
export function parseJwt(token: string): ParsedJwt | JwtStatus {
  if (token.length > maxTokenLength) return "JwtBadFormat";
  const firstDot = token.indexOf(".");
  const secondDot = firstDot < 0 ? -1 : token.indexOf(".", firstDot + 1);
  if (firstDot <= 0 || secondDot <= firstDot + 1 || secondDot === token.length - 1 || token.indexOf(".", secondDot + 1) >= 0) return "JwtBadFormat";

  const headerText = decodeBase64url(token, 0, firstDot);
  if (headerText === undefined) return "JwtHeaderParseErrorBadBase64";
  const header = parseObject(headerText.toString("utf8"));
  if (header === undefined) return "JwtHeaderParseErrorBadJson";
  const alg = own(header, "alg");
  if (typeof alg !== "string") return "JwtHeaderBadAlg";
  if (!algorithms.has(alg)) return "JwtHeaderNotImplementedAlg";
  const kid = own(header, "kid");
  if (kid !== undefined && typeof kid !== "string") return "JwtHeaderBadKid";
  // We implement no JWS extension, so any `crit` (RFC 7515 §4.1.11) makes the token unacceptable.
  if (own(header, "crit") !== undefined) return "JwtHeaderCritNotSupported";

  const payloadText = decodeBase64url(token, firstDot + 1, secondDot);
  if (payloadText === undefined) return "JwtPayloadParseErrorBadBase64";
  const payload = parseObject(payloadText.toString("utf8"));
  if (payload === undefined) return "JwtPayloadParseErrorBadJson";
  const iss = own(payload, "iss");
  if (iss !== undefined && typeof iss !== "string") return "JwtPayloadParseErrorIssNotString";
  const sub = own(payload, "sub");
  if (sub !== undefined && typeof sub !== "string") return "JwtPayloadParseErrorSubNotString";
  const iat = readTime(own(payload, "iat"));
  if (typeof iat === "string") return iat === "type" ? "JwtPayloadParseErrorIatNotInteger" : "JwtPayloadParseErrorIatOutOfRange";
  const nbf = readTime(own(payload, "nbf"));
  if (typeof nbf === "string") return nbf === "type" ? "JwtPayloadParseErrorNbfNotInteger" : "JwtPayloadParseErrorNbfOutOfRange";
  const exp = readTime(own(payload, "exp"));
  if (typeof exp === "string") return exp === "type" ? "JwtPayloadParseErrorExpNotInteger" : "JwtPayloadParseErrorExpOutOfRange";
  const jti = own(payload, "jti");
  if (jti !== undefined && typeof jti !== "string") return "JwtPayloadParseErrorJtiNotString";
  const aud = own(payload, "aud");
  let audiences: readonly string[];
  if (aud === undefined) audiences = [];
  else if (typeof aud === "string") audiences = [aud];
  else if (Array.isArray(aud) && aud.every((a) => typeof a === "string")) audiences = aud as string[];
  else return "JwtPayloadParseErrorAudNotString";

  const signature = decodeBase64url(token, secondDot + 1, token.length);
  if (signature === undefined) return "JwtSignatureParseErrorBadBase64";
  return {
    alg: alg as JwtAlgorithm,
    kid: kid ?? "",
    header,
    payload,
    iss: iss ?? "",
    sub: sub ?? "",
    audiences,
    iat,
    nbf,
    exp,
    signingInput: token.slice(0, secondDot),
    payloadBase64url: token.slice(firstDot + 1, secondDot),
    signature,
  };
}

/** Own property only: a claim named "constructor" or "__proto__" must not reach Object.prototype. */
export function own(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/**
 * Strict base64url without padding (RFC 7515 §2): other characters, an impossible length or
 * non-zero unused bits in the last character (RFC 4648 §3.5) are refused, so each byte string has
 * exactly one accepted spelling and a token cannot be altered without altering what was signed.
 */
function decodeBase64url(text: string, start: number, end: number): Buffer | undefined {
  const tail = (end - start) % 4;
  if (tail === 1) return undefined;
  let last = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) last = c - 0x41;
    else if (c >= 0x61 && c <= 0x7a) last = c - 0x61 + 26;
    else if (c >= 0x30 && c <= 0x39) last = c - 0x30 + 52;
    else if (c === 0x2d) last = 62;
    else if (c === 0x5f) last = 63;
    else return undefined;
  }
  if ((tail === 2 && (last & 0x0f) !== 0) || (tail === 3 && (last & 0x03) !== 0)) return undefined;
  return Buffer.from(start === 0 && end === text.length ? text : text.slice(start, end), "base64url");
}

function parseObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** NumericDate (RFC 7519 §2) as Envoy reads it: a non-negative number below 2^64, fraction dropped. */
function readTime(value: unknown): number | "type" | "range" {
  if (value === undefined) return 0;
  if (typeof value !== "number") return "type";
  if (!(value >= 0) || value >= 2 ** 64) return "range";
  return Math.floor(value);
}
