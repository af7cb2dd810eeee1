// The CA's attestation decision (DESIGN.md §3.3): from a verified token's claims, the CSR's
// requested ID, the policy and the time, either the one SPIFFE ID and TTL to issue or a refusal.
// Pure: the token signature and CSR signature were checked before; state (one-time tokens, rate
// limits) is applied after, by the caller.
import { parseTrustDomain, workloadId, type SpiffeId, type TrustDomain } from "@meshwork/pki";
import type { WorkloadTokenClaims } from "@meshwork/workload-identity";
import { refuse, type Refusal } from "./refusal.ts";

/** What the CA allows. */
export interface IssuePolicy {
  /** The CA's trust domain: IDs are minted in it when a token names none. */
  readonly trustDomain: TrustDomain;
  /** Trust domains tokens may name (normally just `trustDomain`). */
  readonly allowedTrustDomains: readonly TrustDomain[];
  /** Namespaces that may get certificates; empty allows every namespace. */
  readonly allowedNamespaces: readonly string[];
  /** The token `iss` accepted. */
  readonly tokenIssuer: string;
  /** The `aud` a token must contain. */
  readonly tokenAudience: string;
  /** TTL when the request asks for 0 (DESIGN.md §3.3: 1 h). */
  readonly defaultTtlSeconds: number;
  /** Longer requests are clamped to this. */
  readonly maxTtlSeconds: number;
  /** Leeway on token `exp` / `nbf` for clock skew between issuer and CA. */
  readonly clockSkewSeconds: number;
}

/** What the caller asked for. `requestedId` is the CSR's URI SAN, when it has one. */
export interface IssueRequest {
  readonly requestedId: SpiffeId | undefined;
  readonly validitySeconds: number;
}

/** Issue this ID for this long; `clamped` when the request asked for more than the policy allows. */
export interface IssueGrant {
  readonly type: "issue";
  readonly spiffeId: SpiffeId;
  readonly ttlSeconds: number;
  readonly clamped: boolean;
  /** Set for one-time bootstrap tokens: the caller must record it as used. */
  readonly oneTimeTokenId: string | undefined;
}

/**
 * Decides a CreateCertificate request. Checks, in order: validity_seconds is a non-negative
 * integer; the token's `iss`, `aud`, `exp` and `nbf` (with `clockSkewSeconds` leeway, RFC 7519
 * §4.1.4-5); the trust domain (the token's `td` or the CA's) is allowed; the namespace is allowed;
 * `ns`/`sa` form a valid workload ID; the CSR asks for no ID or exactly that one. The ID always
 * comes from the token (never the CSR); the TTL is the request's, or the default for 0, clamped
 * to `maxTtlSeconds`.
 */
export function decideIssue(request: IssueRequest, claims: WorkloadTokenClaims, policy: IssuePolicy, now: Date): IssueGrant | Refusal {
  const { validitySeconds } = request;
  if (!Number.isSafeInteger(validitySeconds) || validitySeconds < 0) {
    return refuse("bad-validity", `validity_seconds must be a non-negative integer (0 for the default), got ${validitySeconds}`);
  }
  const nowSeconds = now.getTime() / 1000;
  if (claims.iss !== policy.tokenIssuer) return refuse("token-wrong-issuer", `the workload token was issued by "${claims.iss}", not by "${policy.tokenIssuer}"`);
  const audiences = typeof claims.aud === "string" ? [claims.aud] : claims.aud;
  if (!audiences.includes(policy.tokenAudience)) {
    return refuse("token-wrong-audience", `the workload token is for audience ${audiences.map((a) => `"${a}"`).join(", ") || "(none)"}, not "${policy.tokenAudience}"`);
  }
  if (nowSeconds >= claims.expSeconds + policy.clockSkewSeconds) {
    return refuse("token-expired", `the workload token expired at ${new Date(claims.expSeconds * 1000).toISOString()}; mint a new one`);
  }
  if (claims.nbfSeconds !== undefined && nowSeconds < claims.nbfSeconds - policy.clockSkewSeconds) {
    return refuse("token-not-yet-valid", `the workload token is valid from ${new Date(claims.nbfSeconds * 1000).toISOString()}`);
  }
  const td = parseTrustDomain(claims.td ?? policy.trustDomain);
  if (!td.ok) return refuse("invalid-identity", `the workload token's td claim: ${td.detail}`);
  if (!policy.allowedTrustDomains.includes(td.trustDomain)) {
    return refuse("trust-domain-not-allowed", `trust domain "${td.trustDomain}" is not served by this CA (allowed: ${policy.allowedTrustDomains.join(", ")})`);
  }
  if (policy.allowedNamespaces.length > 0 && !policy.allowedNamespaces.includes(claims.ns)) {
    return refuse("namespace-not-allowed", `namespace "${claims.ns}" may not get certificates (allowed: ${policy.allowedNamespaces.join(", ")})`);
  }
  const id = workloadId({ trustDomain: td.trustDomain, namespace: claims.ns, serviceAccount: claims.sa });
  if (!id.ok) return refuse("invalid-identity", `the workload token's ns/sa do not form a SPIFFE ID: ${id.detail}`);
  if (request.requestedId !== undefined && request.requestedId !== id.id) {
    return refuse("id-mismatch", `the CSR asks for "${request.requestedId}" but the workload token attests "${id.id}"`);
  }
  const wanted = validitySeconds === 0 ? policy.defaultTtlSeconds : validitySeconds;
  const ttlSeconds = Math.min(wanted, policy.maxTtlSeconds);
  return { type: "issue", spiffeId: id.id, ttlSeconds, clamped: wanted > policy.maxTtlSeconds, oneTimeTokenId: claims.jti };
}
