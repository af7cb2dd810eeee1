// The authorization step of an inbound TCP connection (Istio's TCP filter chain: Envoy's network
// ext_authz filter, then the network RBAC filter), once mutual TLS has given it its peer identity
// and before the application is dialled:
//
//   connection ──► engine.checkCustom ──none─────────────────────► engine.evaluate ──allow──► proxy the bytes
//                       │ check (envoyExtAuthzGrpc only)               ▲       │ deny
//                       ▼                                              │       ▼
//                 provider.checkConnection ──allowed──────────────────┘   close (rbac_access_denied_matched_policy[…])
//                       │ denied / failed (unless failOpen)
//                       ▼
//                 close (UAEX, ext_authz_denied / ext_authz_error)
//
// An envoyExtAuthzHttp provider never applies to TCP: the engine is compiled with the gRPC
// providers as its tcpExtensionProviders, and a CUSTOM policy naming another one is skipped.
import type { AuthzDecision, AuthzRequest } from "@meshwork/proxy-core";
import type { AuthorizeDeps } from "./authorize-request.ts";
import { externalCheckFailure, type ConnectionCheckRequest, type ExternalCheckResult } from "./check-external.ts";

export type ConnectionOutcome =
  | {
      readonly type: "allow";
      /** The DENY → ALLOW decision, for logs. */
      readonly decision: AuthzDecision;
    }
  | {
      readonly type: "deny";
      /** "UAEX" when the external authorizer denied or failed; undefined for an RBAC denial. */
      readonly flag: "UAEX" | undefined;
      /** Envoy's connection termination details: rbac_access_denied_matched_policy[…], ext_authz_denied, ext_authz_error. */
      readonly details: string;
      /** For logs: which policy or authorizer denied. */
      readonly reason: string;
      /** `namespace/name` of the deciding policy, if any. */
      readonly policy: string | undefined;
    };

/**
 * Authorizes one TCP connection (`request.protocol` "tcp"). Synchronous unless a provider is
 * asked; never throws or rejects. `check` describes the connection to the provider and is called
 * only then.
 */
export function authorizeConnection(deps: AuthorizeDeps, request: AuthzRequest, check: () => ConnectionCheckRequest): ConnectionOutcome | Promise<ConnectionOutcome> {
  const { engine } = deps;
  if (engine.isEmpty) return { type: "allow", decision: engine.evaluate(request) };
  const custom = engine.checkCustom(request);
  if (custom.type === "none") return decide(engine.evaluate(request));
  if (custom.type === "deny") return { type: "deny", flag: undefined, details: custom.responseCodeDetails, reason: custom.reason, policy: custom.policy };
  const provider = deps.providers.get(custom.provider);
  if (provider === undefined || provider.type !== "grpc") {
    // The engine was compiled without the provider lists; deny as Istio does for a provider it cannot use.
    return { type: "deny", flag: undefined, details: `rbac_access_denied_matched_policy[${custom.effectivePolicyId}-bad-custom-action]`, reason: `CUSTOM policy ${custom.policy}: provider "${custom.provider}" cannot check TCP connections`, policy: custom.policy };
  }
  const authorizer = deps.grpcAuthorizers?.get(provider.name);
  const asked: Promise<ExternalCheckResult> = authorizer ? authorizer.checkConnection(check()) : Promise.resolve(externalCheckFailure(provider, `${provider.name}: no gRPC client was started for this provider`));
  return asked.then((result) => {
    if (!result.allowed) return { type: "deny", flag: result.flag, details: result.failed ? "ext_authz_error" : "ext_authz_denied", reason: `CUSTOM policy ${custom.policy}: ${result.reason}`, policy: custom.policy };
    return decide(engine.evaluate(request));
  });
}

function decide(decision: AuthzDecision): ConnectionOutcome {
  if (decision.type === "allow") return { type: "allow", decision };
  return { type: "deny", flag: undefined, details: decision.responseCodeDetails, reason: decision.reason, policy: decision.policy };
}
