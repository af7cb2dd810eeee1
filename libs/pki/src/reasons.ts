// The closed sets of reasons this lib gives when it refuses an input, in one place so the CA can
// map each to a gRPC status and a metric label, and a peer to a log line.

/** Why a string is not a SPIFFE ID (SPIFFE-ID §2). */
export type SpiffeIdErrorReason =
  | "empty"
  | "too-long"
  | "wrong-scheme"
  | "missing-trust-domain"
  | "trust-domain-char"
  | "userinfo"
  | "port"
  | "query-or-fragment"
  | "percent-encoded"
  | "empty-segment"
  | "dot-segment"
  | "trailing-slash"
  | "path-char"
  | "not-a-workload-id";

/** Why a certificate signing request is refused. */
export type CsrRejectReason = "malformed" | "bad-signature" | "key-not-allowed" | "uri-san-count" | "invalid-spiffe-id";

/** Why an SVID chain is refused by a peer (X509-SVID §5). */
export type SvidRejectReason =
  | "malformed"
  | "empty-chain"
  | "chain-too-long"
  | "expired"
  | "not-yet-valid"
  | "untrusted-root"
  | "wrong-trust-domain"
  | "unexpected-id"
  | "bad-signature"
  | "uri-san-count"
  | "invalid-spiffe-id"
  | "leaf-is-ca"
  | "leaf-can-sign"
  | "missing-key-usage"
  | "missing-digital-signature"
  | "missing-eku"
  | "issuer-not-ca"
  | "issuer-cannot-sign"
  | "path-length-exceeded"
  | "unhandled-critical-extension";

/** Why a CA cannot issue a certificate (leaf or intermediate), or cannot be loaded. */
export type IssueRejectReason =
  | "malformed"
  | "empty-chain"
  | "bad-ttl"
  | "wrong-trust-domain"
  | "invalid-spiffe-id"
  | "issuer-expired"
  | "issuer-not-yet-valid"
  | "not-a-ca"
  | "cannot-sign"
  | "key-mismatch"
  | "path-length-exceeded";

/** A refusal: the reason from a closed set and a sentence quoting the offending value. */
export interface Rejection<R extends string> {
  readonly ok: false;
  readonly reason: R;
  readonly detail: string;
}

/** Builds a {@link Rejection}. */
export function reject<R extends string>(reason: R, detail: string): Rejection<R> {
  return { ok: false, reason, detail };
}
