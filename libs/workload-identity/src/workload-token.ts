// Workload tokens (DESIGN.md §3.3, local mode): ES256 JWTs (RFC 7519, RFC 7518 §3.4) minted by
// the mesh's token issuer, naming a workload's namespace and service account. Minting (meshctl token
// issue, tests) and the signature and shape check (apps/ca); what the claims allow is apps/ca's
// decideIssue's job. WebCrypto is injected.
import { decodeBase64, encodeBase64 } from "@meshwork/pki";

/** The claims of a workload token, after its signature and shape were checked. Times in seconds since the epoch. */
export interface WorkloadTokenClaims {
  readonly iss: string;
  /** JWT `aud`: one audience or several (RFC 7519 §4.1.3). */
  readonly aud: string | readonly string[];
  readonly expSeconds: number;
  readonly nbfSeconds: number | undefined;
  readonly iatSeconds: number | undefined;
  /** Namespace of the workload. */
  readonly ns: string;
  /** Service account of the workload. */
  readonly sa: string;
  /** Trust domain the token is for; absent means the CA's own. */
  readonly td: string | undefined;
  /** Present on one-time bootstrap tokens: the CA accepts such a token once. */
  readonly jti: string | undefined;
}

/** Why a token's bytes are refused before its claims are looked at. */
export type TokenFormatProblem = "token-missing" | "token-malformed" | "token-bad-signature";

/** Outcome of {@link verifyWorkloadToken}. */
export type TokenVerification =
  | { readonly ok: true; readonly claims: WorkloadTokenClaims }
  | { readonly ok: false; readonly reason: TokenFormatProblem; readonly detail: string };

const es256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** base64url without padding (RFC 7515 §2), as JWS parts and JWK members are written. */
export function base64UrlEncode(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return decodeBase64(padded);
}

/**
 * Mints a workload token: an ES256 JWT with `iss`, `aud`, `iat`, `nbf` (= `now`), `exp`
 * (= `now + ttlSeconds`), `ns`, `sa` and, when given, `td` and `jti` (a one-time bootstrap token).
 * `privateKey` is the mesh's token issuer key (ECDSA P-256). Used by meshctl and by tests.
 */
export async function mintWorkloadToken(options: {
  readonly privateKey: CryptoKey;
  readonly issuer: string;
  readonly audience: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly now: Date;
  readonly ttlSeconds: number;
  readonly trustDomain?: string;
  readonly jti?: string;
  /** Overrides `nbf` (seconds since the epoch), for tests of not-yet-valid tokens. */
  readonly notBeforeSeconds?: number;
  readonly crypto: Crypto;
}): Promise<string> {
  const nowSeconds = Math.floor(options.now.getTime() / 1000);
  const claims: Record<string, unknown> = {
    iss: options.issuer,
    aud: options.audience,
    iat: nowSeconds,
    nbf: options.notBeforeSeconds ?? nowSeconds,
    exp: nowSeconds + options.ttlSeconds,
    ns: options.namespace,
    sa: options.serviceAccount,
  };
  if (options.trustDomain !== undefined) claims["td"] = options.trustDomain;
  if (options.jti !== undefined) claims["jti"] = options.jti;
  return signEs256Jwt({ alg: "ES256", typ: "JWT" }, claims, options.privateKey, options.crypto);
}

/**
 * `claims` as a compact JWS (RFC 7515 §7.1) under `header` (its `alg` must be ES256), signed with
 * the P-256 `privateKey`. WebCrypto's ECDSA signature is r‖s, 64 bytes: exactly JWS's ES256 form
 * (RFC 7518 §3.4). Workload tokens and the CA's JWT-SVIDs are both made here.
 */
export async function signEs256Jwt(header: Readonly<Record<string, unknown>>, claims: Readonly<Record<string, unknown>>, privateKey: CryptoKey, crypto: Crypto): Promise<string> {
  const encoder = new TextEncoder();
  const signingInput = `${base64UrlEncode(encoder.encode(JSON.stringify(header)))}.${base64UrlEncode(encoder.encode(JSON.stringify(claims)))}`;
  const signature = new Uint8Array(await crypto.subtle.sign(es256, privateKey, encoder.encode(signingInput)));
  return `${signingInput}.${base64UrlEncode(signature)}`;
}

function parseJsonObject(bytes: Uint8Array | null): Record<string, unknown> | null {
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const maxTokenLength = 8192;

/**
 * Checks a token's form and ES256 signature with the issuer's `publicKey` and reads its claims:
 * header `alg` must be ES256 (no `none`, no algorithm confusion, RFC 8725 §3.1), `exp`, `ns`, `sa`
 * must be present with the right types, `aud` a string or list of strings. Does not judge time,
 * issuer or audience (see decideIssue). Untrusted input never throws.
 */
export async function verifyWorkloadToken(token: string, options: { readonly publicKey: CryptoKey; readonly crypto: Crypto }): Promise<TokenVerification> {
  if (token === "") return { ok: false, reason: "token-missing", detail: "no workload token was sent (workload_token is empty)" };
  if (token.length > maxTokenLength) return { ok: false, reason: "token-malformed", detail: `the workload token is ${token.length} bytes, the limit is ${maxTokenLength}` };
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "token-malformed", detail: `the workload token has ${parts.length} dot-separated parts, a JWS has 3` };
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = parseJsonObject(base64UrlDecode(headerPart));
  if (!header) return { ok: false, reason: "token-malformed", detail: "the workload token's header is not base64url JSON" };
  if (header["alg"] !== "ES256") return { ok: false, reason: "token-malformed", detail: `the workload token's alg is ${JSON.stringify(header["alg"])}; only ES256 is accepted` };
  const signature = base64UrlDecode(signaturePart);
  if (!signature || signature.length !== 64) return { ok: false, reason: "token-malformed", detail: "the workload token's signature is not a 64-byte ES256 signature" };
  const signed = await options.crypto.subtle.verify(es256, options.publicKey, signature, new TextEncoder().encode(`${headerPart}.${claimsPart}`));
  if (!signed) return { ok: false, reason: "token-bad-signature", detail: "the workload token's signature does not verify with the mesh token issuer's key" };
  const raw = parseJsonObject(base64UrlDecode(claimsPart));
  if (!raw) return { ok: false, reason: "token-malformed", detail: "the workload token's claims are not base64url JSON" };
  const { iss, aud, exp, nbf, iat, ns, sa, td, jti } = raw;
  const optionalNumber = (v: unknown): v is number | undefined => v === undefined || (typeof v === "number" && Number.isFinite(v));
  const optionalString = (v: unknown): v is string | undefined => v === undefined || typeof v === "string";
  const audOk = typeof aud === "string" || (Array.isArray(aud) && aud.every((a) => typeof a === "string"));
  if (typeof iss !== "string" || !audOk || typeof exp !== "number" || !Number.isFinite(exp) || !optionalNumber(nbf) || !optionalNumber(iat)) {
    return { ok: false, reason: "token-malformed", detail: "the workload token lacks a string iss, a string or list aud, or a numeric exp (nbf, iat numeric when present)" };
  }
  if (typeof ns !== "string" || ns === "" || typeof sa !== "string" || sa === "" || !optionalString(td) || !optionalString(jti)) {
    return { ok: false, reason: "token-malformed", detail: "the workload token lacks non-empty string ns and sa claims (td, jti strings when present)" };
  }
  return { ok: true, claims: { iss, aud: aud as string | string[], expSeconds: exp, nbfSeconds: nbf, iatSeconds: iat, ns, sa, td, jti } };
}
