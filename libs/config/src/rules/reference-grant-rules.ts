// Semantic checks on a ReferenceGrant and a GatewayClass: nothing the schema misses, beyond the
// referring group Gateway API defines.
import type { SpecRule } from "../field-issue.ts";
import type { GatewayClassSpec } from "../schema/gateway-class.ts";
import type { ReferenceGrantSpec } from "../schema/reference-grant.ts";
import { IssueList } from "./issue-list.ts";

/** A ReferenceGrant's `from` entries name namespaces other than its own (its own needs no grant). */
export const checkReferenceGrant: SpecRule<ReferenceGrantSpec> = (spec, context) => {
  const issues = new IssueList();
  for (const [i, from] of spec.from.entries()) {
    if (context.namespace !== undefined && from.namespace === context.namespace) {
      issues.warn(["spec", "from", i, "namespace"], `namespace ${JSON.stringify(from.namespace)} is the grant's own; references inside a namespace need no grant`, "name the namespace of the routes or Gateways that refer here");
    }
  }
  return issues.list;
};

/** GatewayClass needs no check beyond its schema. */
export const checkGatewayClass: SpecRule<GatewayClassSpec> = () => [];
