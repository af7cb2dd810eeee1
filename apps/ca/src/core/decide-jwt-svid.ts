// The CA's decision on a CreateJwtSvid request (SPIFFE JWT-SVID §3): the same attestation as
// decideIssue (the SPIFFE ID comes from the workload token only), plus the audiences and the
// optional SPIFFE ID the caller names. Pure: the token's signature was checked before; one-time
// tokens and rate limits are applied after, by the caller, as for certificates.
import type { SpiffeId } from "@meshwork/pki";
import type { WorkloadTokenClaims } from "@meshwork/workload-identity";
import { decideIssue, type IssuePolicy } from "./decide-issue.ts";
import { refuse, type Refusal } from "./refusal.ts";

/** What the caller asked for: `spiffeId` "" means the ID the token attests. */
export interface JwtSvidRequest {
  readonly audiences: readonly string[];
  readonly spiffeId: string;
}

/** Sign a JWT-SVID for this ID and these audiences (deduplicated, in the request's order), for `ttlSeconds`. */
export interface JwtSvidGrant {
  readonly type: "issue-jwt";
  readonly spiffeId: SpiffeId;
  readonly audiences: readonly string[];
  readonly ttlSeconds: number;
  /** Set for one-time bootstrap tokens: the caller must record it as used. */
  readonly oneTimeTokenId: string | undefined;
}

/**
 * Decides a CreateJwtSvid request. Checks, in order: at least one audience and none empty; the
 * token's claims against the policy exactly as {@link decideIssue} does; a named SPIFFE ID equals
 * the attested one. The lifetime is `jwtTtlSeconds` (the request has no say).
 */
export function decideJwtSvid(request: JwtSvidRequest, claims: WorkloadTokenClaims, policy: IssuePolicy & { readonly jwtTtlSeconds: number }, now: Date): JwtSvidGrant | Refusal {
  if (request.audiences.length === 0) return refuse("audience-missing", "a JWT-SVID needs at least one audience (JWT-SVID §3: aud is required); name the service that will verify it");
  if (request.audiences.some((a) => a === "")) return refuse("audience-missing", "an audience of the request is the empty string; name the service that will verify the JWT-SVID");
  const attested = decideIssue({ requestedId: undefined, validitySeconds: 0 }, claims, policy, now);
  if (attested.type === "refuse") return attested;
  if (request.spiffeId !== "" && request.spiffeId !== attested.spiffeId) {
    return refuse("id-mismatch", `the request asks for a JWT-SVID for "${request.spiffeId}" but the workload token attests "${attested.spiffeId}"`);
  }
  return { type: "issue-jwt", spiffeId: attested.spiffeId, audiences: [...new Set(request.audiences)], ttlSeconds: policy.jwtTtlSeconds, oneTimeTokenId: attested.oneTimeTokenId };
}
