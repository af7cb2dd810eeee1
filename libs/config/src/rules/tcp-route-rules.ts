// Semantic checks on a Gateway API TCPRoute spec that the schema cannot express: parents as
// HTTPRoute's, and backends that are Services with a port.
import type { SpecRule } from "../field-issue.ts";
import type { TCPRouteSpec } from "../schema/tcp-route.ts";
import { checkParentRefs, checkServiceBackend } from "./http-route-rules.ts";
import { IssueList } from "./issue-list.ts";

/** Semantic checks of a TCPRoute: parents (a Gateway or a Service) and backends (a Service needs a port). */
export const checkTCPRoute: SpecRule<TCPRouteSpec> = (spec) => {
  const issues = new IssueList();
  checkParentRefs(spec.parentRefs, issues);
  for (const [r, rule] of spec.rules.entries()) {
    for (const [b, backend] of rule.backendRefs.entries()) {
      checkServiceBackend(backend, ["spec", "rules", r, "backendRefs", b], issues, { port: "the Service's TCP port", traffic: "connections" });
    }
  }
  return issues.list;
};
