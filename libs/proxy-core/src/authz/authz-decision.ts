// The answers of the authorization engine and the local replies for a denial. One CUSTOM step
// (ask an external authorizer or not), then the DENY → ALLOW decision with AUDIT and dry-run marks.

/** Istio's reply for an RBAC denial: HTTP 403 with this body. */
export const rbacDeniedStatus = 403;
export const rbacDeniedBody = "RBAC: access denied";
/** gRPC status for an RBAC denial: PERMISSION_DENIED. */
export const rbacDeniedGrpcStatus = 7;
/** Envoy's response flag for a request denied by the external authorizer (RBAC denials have none; see responseCodeDetails). */
export const externalAuthzDeniedFlag = "UAEX";

/** The local reply for a denial, for the HTTP/1.1 and HTTP/2 data paths. */
export const rbacDeniedReply = Object.freeze({
  status: rbacDeniedStatus,
  body: rbacDeniedBody,
  grpcStatus: rbacDeniedGrpcStatus,
  headers: Object.freeze([["content-type", "text/plain"]] as const),
});

/** Result of the policies marked `istio.io/dry-run: "true"`, reported but never enforced. */
export interface DryRunResult {
  /** Present when dry-run DENY policies apply: whether one of them would have denied, and which. */
  readonly deny?: { readonly denied: boolean; readonly policy: string | undefined };
  /** Present when dry-run ALLOW policies apply: whether one of them would have allowed, and which. */
  readonly allow?: { readonly allowed: boolean; readonly policy: string | undefined };
}

interface DecisionBase {
  /** `namespace/name` of the deciding policy; undefined for "no policy" and "no ALLOW matched". */
  readonly policy: string | undefined;
  /** Index of the matching rule in that policy. */
  readonly rule: number | undefined;
  /** Envoy's policy id, `ns[<ns>]-policy[<name>]-rule[<i>]`, or "none". */
  readonly effectivePolicyId: string;
  /** An AUDIT policy matched: the access log should record this request (Envoy `access_log_hint`). */
  readonly audit: boolean;
  readonly dryRun?: DryRunResult;
}

export interface AllowDecision extends DecisionBase {
  readonly type: "allow";
}

export interface DenyDecision extends DecisionBase {
  readonly type: "deny";
  /** Human text for logs: which policy denied, or that no ALLOW policy matched. */
  readonly reason: string;
  /** Envoy's `%RESPONSE_CODE_DETAILS%`: `rbac_access_denied_matched_policy[<id>]`. */
  readonly responseCodeDetails: string;
}

/** The DENY → ALLOW decision (CUSTOM is asked before, through checkCustom). */
export type AuthzDecision = AllowDecision | DenyDecision;

/** The CUSTOM step's answer. */
export type CustomDecision =
  /** No CUSTOM policy matched: go on to evaluate(). */
  | { readonly type: "none" }
  /** Ask this extension provider; on its allow, go on to evaluate(); on its deny, reply with what it said. */
  | { readonly type: "check"; readonly provider: string; readonly policy: string; readonly effectivePolicyId: string }
  /** A CUSTOM policy matched but its provider cannot be used (unknown, or several per workload): deny, as Istio does. */
  | DenyDecision;
