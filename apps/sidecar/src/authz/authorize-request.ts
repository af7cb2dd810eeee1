// The authorization step of the inbound chain (mTLS → JWT → authorization → telemetry → app):
// CUSTOM (ask the external authorizer when a CUSTOM policy matches) → DENY → ALLOW, turned into
// what the data path does next: forward (with headers to add) or answer locally.
//
//   request ──► engine.checkCustom ──none──────────────────────────► engine.evaluate ──allow──► forward
//                     │ check                                           ▲       │ deny
//                     ▼                                                 │       ▼
//               checkExternal(provider) ──allowed (+headers)────────────┘   403 "RBAC: access denied"
//                     │ denied / failed (fail closed)                        (gRPC: status 7)
//                     ▼
//               authorizer's status, body, headers (UAEX) / statusOnError
import {
  rbacDeniedBody,
  rbacDeniedGrpcStatus,
  rbacDeniedStatus,
  type AuthorizationEngine,
  type AuthzDecision,
  type AuthzRequest,
  type DenyDecision,
} from "@meshwork/proxy-core";
import { httpToGrpcStatus } from "@meshwork/protocol/grpc-wire";
import { checkExternal, type CheckExternalOptions, type ExternalCheckRequest, type HeaderList } from "./check-external.ts";
import type { ExtAuthzHttpProvider } from "./mesh-authz-config.ts";

export type AuthorizeOutcome =
  | {
      readonly type: "allow";
      /** The DENY → ALLOW decision (policy, audit mark, dry-run results) for logs and metrics. */
      readonly decision: AuthzDecision;
      /** From the external authorizer: set these on the upstream request. */
      readonly upstreamHeaders: HeaderList;
      /** From the external authorizer: add these to the response. */
      readonly downstreamHeaders: HeaderList;
    }
  | {
      readonly type: "deny";
      /** HTTP status of the local reply: 403, or the external authorizer's status / statusOnError. */
      readonly status: number;
      /** For a gRPC request: answer with this grpc-status (PERMISSION_DENIED for RBAC) instead. */
      readonly grpcStatus: number;
      readonly headers: HeaderList;
      readonly body: string | Buffer;
      /** "UAEX" when the external authorizer denied; undefined for an RBAC denial. */
      readonly flag: "UAEX" | undefined;
      readonly reason: string;
      /** Envoy's %RESPONSE_CODE_DETAILS%, e.g. rbac_access_denied_matched_policy[ns[foo]-policy[deny-all]-rule[0]]. */
      readonly responseCodeDetails: string;
      /** `namespace/name` of the deciding policy, if any. */
      readonly policy: string | undefined;
      /** An AUDIT policy matched (the access log should keep this request). */
      readonly audit: boolean;
    };

export interface AuthorizeDeps {
  readonly engine: AuthorizationEngine;
  /** envoyExtAuthzHttp providers by name (from parseMeshConfig). */
  readonly providers: ReadonlyMap<string, ExtAuthzHttpProvider>;
  /** Resolves a provider's service to an address, and aborts checks; passed to checkExternal. */
  readonly checkOptions?: (provider: ExtAuthzHttpProvider) => CheckExternalOptions;
}

const rbacHeaders: HeaderList = [["content-type", "text/plain"]];
const noHeaders: HeaderList = [];

/**
 * Authorizes one request. Returns synchronously when no external check is needed (no CUSTOM policy
 * matches), so the common path costs no promise; otherwise a promise. Never throws or rejects.
 * `check` describes the request to the external authorizer; it is read only when one is asked.
 */
export function authorizeRequest(
  deps: AuthorizeDeps,
  request: AuthzRequest,
  check: () => ExternalCheckRequest,
): AuthorizeOutcome | Promise<AuthorizeOutcome> {
  const { engine } = deps;
  if (engine.isEmpty) return allowed(engine.evaluate(request), noHeaders, noHeaders);
  const custom = engine.checkCustom(request);
  if (custom.type === "none") return decide(engine.evaluate(request), noHeaders, noHeaders);
  if (custom.type === "deny") return rbacDenial(custom, engine.evaluate(request).audit);
  const provider = deps.providers.get(custom.provider);
  if (!provider) {
    // The engine was compiled without the provider list; deny as Istio does for an unknown provider.
    return rbacDenial(
      {
        type: "deny",
        policy: custom.policy,
        rule: undefined,
        effectivePolicyId: custom.effectivePolicyId,
        audit: false,
        reason: `CUSTOM policy ${custom.policy}: provider "${custom.provider}" is not defined in MeshConfig extensionProviders`,
        responseCodeDetails: `rbac_access_denied_matched_policy[${custom.effectivePolicyId}-bad-custom-action]`,
      },
      false,
    );
  }
  return checkExternal(provider, check(), deps.checkOptions?.(provider)).then((result) => {
    const decision = engine.evaluate(request);
    if (!result.allowed) {
      return {
        type: "deny",
        status: result.status,
        grpcStatus: httpToGrpcStatus(result.status),
        headers: result.headers,
        body: result.body,
        flag: result.flag,
        reason: `CUSTOM policy ${custom.policy}: ${result.reason}`,
        responseCodeDetails: result.failed ? "ext_authz_error" : "ext_authz_denied",
        policy: custom.policy,
        audit: decision.audit,
      };
    }
    return decide(decision, result.upstreamHeaders, result.downstreamHeaders);
  });
}

function decide(decision: AuthzDecision, upstream: HeaderList, downstream: HeaderList): AuthorizeOutcome {
  return decision.type === "allow" ? allowed(decision, upstream, downstream) : rbacDenial(decision, decision.audit);
}

function allowed(decision: AuthzDecision, upstreamHeaders: HeaderList, downstreamHeaders: HeaderList): AuthorizeOutcome {
  return { type: "allow", decision, upstreamHeaders, downstreamHeaders };
}

function rbacDenial(decision: DenyDecision, audit: boolean): AuthorizeOutcome {
  return {
    type: "deny",
    status: rbacDeniedStatus,
    grpcStatus: rbacDeniedGrpcStatus,
    headers: rbacHeaders,
    body: rbacDeniedBody,
    flag: undefined,
    reason: decision.reason,
    responseCodeDetails: decision.responseCodeDetails,
    policy: decision.policy,
    audit,
  };
}
