// The request security step in front of a listener's routing, shared by the inbound listener and
// the gateway's HTTP listeners (router mode): RequestAuthentication, then AuthorizationPolicy
// (InboundSecurity), then the listener's own decision with the verdict's header changes. Denials
// are local replies, counted as Envoy's jwt_authn and RBAC filters count them.
import type { RequestHead } from "../http1/parse-request-head.ts";
import { applyVerdict, type InboundPeer, type InboundSecurity, type SecurityVerdict } from "./inbound-security.ts";
import type { Decision } from "./route-request.ts";

/** A counter that only goes up (a prom-client Counter). */
interface Increment {
  inc(): void;
}

/** Envoy's RBAC and jwt_authn filter stats (Istio's dashboards read them). */
export interface SecurityCounters {
  /** Requests the policies let through. */
  readonly rbacAllowed: Increment;
  /** Requests an AuthorizationPolicy (or the external authorizer) denied. */
  readonly rbacDenied: Increment;
  /** Requests refused for an invalid JWT. */
  readonly jwtDenied: Increment;
}

/**
 * The decision for `head` under `guard`: without policies (undefined or empty guard) `route()`
 * as it is; a denial's local reply; or `route()` with the verdict applied to a forward. `peer`
 * is only called when there is something to check. Synchronous unless a key set is fetched or
 * an external authorizer is asked.
 */
export function decideSecured(
  guard: InboundSecurity | undefined,
  head: RequestHead,
  options: { readonly peer: () => InboundPeer; readonly counters: SecurityCounters; readonly route: () => Decision },
): Decision | Promise<Decision> {
  if (guard === undefined || guard.isEmpty) return options.route();
  const verdict = guard.check(head, options.peer());
  const decide = (v: SecurityVerdict): Decision => {
    if (v.type === "deny") {
      (v.by === "authn" ? options.counters.jwtDenied : options.counters.rbacDenied).inc();
      return v.reply;
    }
    options.counters.rbacAllowed.inc();
    const decision = options.route();
    return decision.type === "forward" ? applyVerdict(decision, v) : decision;
  };
  return verdict instanceof Promise ? verdict.then(decide) : decide(verdict);
}
