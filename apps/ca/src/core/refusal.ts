// Why the CA refuses a CreateCertificate call, and the gRPC status each reason maps to: one closed
// set shared by decideIssue, the service, the metrics label and the audit log.

/** The reasons a certificate request is refused. */
export type RefusalReason =
  | "token-missing"
  | "token-malformed"
  | "token-bad-signature"
  | "token-expired"
  | "token-not-yet-valid"
  | "token-wrong-issuer"
  | "token-wrong-audience"
  | "token-reused"
  | "token-review-rejected"
  | "token-review-unavailable"
  | "csr-invalid"
  | "audience-missing"
  | "id-mismatch"
  | "invalid-identity"
  | "trust-domain-not-allowed"
  | "namespace-not-allowed"
  | "bad-validity"
  | "rate-limited"
  | "ca-unavailable";

/** gRPC status names the CA answers with (grpc/doc/statuscodes.md). */
export type GrpcStatusName = "UNAUTHENTICATED" | "PERMISSION_DENIED" | "INVALID_ARGUMENT" | "RESOURCE_EXHAUSTED" | "UNAVAILABLE";

/**
 * The status of each reason: the token does not prove an identity → UNAUTHENTICATED (a spent
 * one-time token included); a proven identity that may not have what it asks → PERMISSION_DENIED;
 * a malformed request → INVALID_ARGUMENT; over the identity's rate → RESOURCE_EXHAUSTED.
 */
export const statusOfRefusal: Readonly<Record<RefusalReason, GrpcStatusName>> = {
  "token-missing": "UNAUTHENTICATED",
  "token-malformed": "UNAUTHENTICATED",
  "token-bad-signature": "UNAUTHENTICATED",
  "token-expired": "UNAUTHENTICATED",
  "token-not-yet-valid": "UNAUTHENTICATED",
  "token-wrong-issuer": "UNAUTHENTICATED",
  "token-wrong-audience": "UNAUTHENTICATED",
  "token-reused": "UNAUTHENTICATED",
  // Kubernetes TokenReview: the API server did not authenticate the token as a service account,
  // or could not be asked (the caller may retry).
  "token-review-rejected": "UNAUTHENTICATED",
  "token-review-unavailable": "UNAVAILABLE",
  "csr-invalid": "INVALID_ARGUMENT",
  // CreateJwtSvid without an audience (JWT-SVID §3: `aud` is required).
  "audience-missing": "INVALID_ARGUMENT",
  "bad-validity": "INVALID_ARGUMENT",
  "invalid-identity": "INVALID_ARGUMENT",
  "id-mismatch": "PERMISSION_DENIED",
  "trust-domain-not-allowed": "PERMISSION_DENIED",
  "namespace-not-allowed": "PERMISSION_DENIED",
  "rate-limited": "RESOURCE_EXHAUSTED",
  "ca-unavailable": "UNAVAILABLE",
};

/** A refusal: the reason and a sentence for the caller naming the offending value. */
export interface Refusal {
  readonly type: "refuse";
  readonly reason: RefusalReason;
  readonly message: string;
}

/** Builds a {@link Refusal}. */
export function refuse(reason: RefusalReason, message: string): Refusal {
  return { type: "refuse", reason, message };
}
