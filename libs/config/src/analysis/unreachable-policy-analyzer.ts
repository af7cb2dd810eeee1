// UnreachablePolicy: an AuthorizationPolicy matches on the request's JWT identity (requestPrincipals,
// notRequestPrincipals, or a `request.auth.*` condition), but no RequestAuthentication applies to
// the workloads it selects, so requests never carry a verified token there: an ALLOW rule on them
// never matches, a DENY rule on notRequestPrincipals denies everything.
// A RequestAuthentication applies when it is in the root namespace or the policy's namespace and
// its selector can select a workload the policy selects (with a catalog: one actually does).
import type { ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { addToGroup } from "./add-to-group.ts";
import { makeFinding, q } from "./make-finding.ts";
import { labelsMatch, rootNamespace, type MeshIndex } from "./mesh-index.ts";

type Labels = Readonly<Record<string, string>>;

/** One info finding per AuthorizationPolicy relying on a token no RequestAuthentication checks. */
export function findUnreachablePolicies(index: MeshIndex): ConfigIssue[] {
  const requestAuthentications = index.list("RequestAuthentication");
  const byNamespace = new Map<string, MeshResource<"RequestAuthentication">[]>();
  for (const ra of requestAuthentications) addToGroup(byNamespace, index.namespaceOf(ra), ra);
  const findings: ConfigIssue[] = [];
  for (const ap of index.list("AuthorizationPolicy")) {
    const path = firstTokenUse(ap);
    if (!path) continue;
    const namespace = index.namespaceOf(ap);
    if (hasTargetRef(ap)) continue; // attached to a Gateway/Service: we cannot tell which workloads
    // A root-namespace policy applies mesh-wide: any RequestAuthentication may cover some of it.
    if (namespace === rootNamespace && requestAuthentications.length > 0) continue;
    const apLabels = ap.spec.selector?.matchLabels ?? {};
    const inScope = [...(byNamespace.get(namespace) ?? []), ...(namespace === rootNamespace ? [] : (byNamespace.get(rootNamespace) ?? []))];
    const covered = inScope.some((ra) => {
      if (hasTargetRef(ra)) return true;
      const raLabels = ra.spec.selector?.matchLabels ?? {};
      return canOverlap(index, apLabels, raLabels, namespace);
    });
    if (covered) continue;
    const action = ap.spec.action ?? "ALLOW";
    const effect =
      action === "ALLOW"
        ? "so rules on them never match and those requests are denied"
        : action === "DENY"
          ? "so notRequestPrincipals and request.auth conditions see no identity (a DENY on notRequestPrincipals denies every request)"
          : "so they never see a verified identity";
    findings.push(
      makeFinding(
        "UnreachablePolicy",
        { resource: ap, namespace, path },
        {
          message: `no RequestAuthentication applies to the workloads this policy selects in namespace ${q(namespace)}, ${effect}`,
          hint: `add a RequestAuthentication (jwtRules with the issuer) in namespace ${q(namespace)} or ${q(rootNamespace)} selecting the same workloads`,
        },
      ),
    );
  }
  return findings;
}

function hasTargetRef(r: MeshResource<"AuthorizationPolicy" | "RequestAuthentication">): boolean {
  return r.spec.targetRef !== undefined || (r.spec.targetRefs ?? []).length > 0;
}

/** Path of the first field of the policy that needs a verified JWT, if any. */
function firstTokenUse(ap: MeshResource<"AuthorizationPolicy">): FieldPath | undefined {
  for (const [i, rule] of (ap.spec.rules ?? []).entries()) {
    for (const [j, from] of (rule.from ?? []).entries()) {
      for (const field of ["requestPrincipals", "notRequestPrincipals"] as const) {
        if ((from.source?.[field] ?? []).length > 0) return ["spec", "rules", i, "from", j, "source", field];
      }
    }
    for (const [j, condition] of (rule.when ?? []).entries()) {
      if (condition.key.startsWith("request.auth.")) return ["spec", "rules", i, "when", j, "key"];
    }
  }
  return undefined;
}

/** Whether one workload may carry both label sets: with a catalog, one does; without, they do not contradict. */
function canOverlap(index: MeshIndex, a: Labels, b: Labels, namespace: string): boolean {
  for (const key in b) if (key in a && a[key] !== b[key]) return false;
  if (!index.catalog) return true;
  const selected = index.selectWorkloads(a, namespace);
  // No workload selected at all is SelectorMatchesNothing's finding; do not pile on.
  return selected.length === 0 || selected.some((w) => labelsMatch(b, w.labels));
}
