// Semantic checks on a Gateway API TLSRoute spec that the schema cannot express: parents and SNI
// host names as HTTPRoute's, backends that are Services with a port, and what v1alpha3 tightened
// (gateway-api #3872: hostnames required; #3971: one rule).
import type { SpecRule } from "../field-issue.ts";
import type { TLSRouteSpec } from "../schema/tls-route.ts";
import { checkHostnames, checkParentRefs, checkServiceBackend } from "./http-route-rules.ts";
import { IssueList } from "./issue-list.ts";

/**
 * Semantic checks of a TLSRoute: parents, SNI host names (no IP addresses, RFC 6066 §3), backends
 * (a Service needs a port); as v1alpha3, at least one hostname and exactly one rule.
 */
export const checkTLSRoute: SpecRule<TLSRouteSpec> = (spec, context) => {
  const issues = new IssueList();
  checkParentRefs(spec.parentRefs, issues);
  checkHostnames(spec.hostnames, issues);
  if (context.apiVersion?.endsWith("/v1alpha3") === true) {
    if ((spec.hostnames ?? []).length === 0) {
      issues.error(["spec", "hostnames"], "a v1alpha3 TLSRoute needs at least one hostname (the SNI it routes)", "add hostnames: [<SNI name>], or write apiVersion: gateway.networking.k8s.io/v1alpha2 to serve every name of the listener", "MissingField");
    }
    if (spec.rules.length > 1) {
      issues.error(["spec", "rules", 1], `a v1alpha3 TLSRoute has one rule, this one has ${spec.rules.length}`, "put every backend in rules[0] with weights, or write apiVersion: gateway.networking.k8s.io/v1alpha2");
    }
  }
  for (const [r, rule] of spec.rules.entries()) {
    for (const [b, backend] of rule.backendRefs.entries()) {
      checkServiceBackend(backend, ["spec", "rules", r, "backendRefs", b], issues, { port: "the Service's TLS port", traffic: "connections" });
    }
  }
  return issues.list;
};
