// ConflictingRateLimitPolicy: a listener (workload + port) gets one target-wide
// HTTPLocalRateLimitPolicy, and each route one route-scoped policy (Linkerd: one policy per
// Server). The proxy prefers a policy naming a port over one that does not, and one selecting by
// labels over a namespace-wide one (proxy-core compileRateLimits); between equally specific
// policies it falls back to name order, which is rarely what the author meant. Those are reported.
import type { ConfigIssue } from "../config-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { findRivals } from "./find-rivals.ts";
import { formatLabels, makeFinding, q, qualifiedName } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

type Policy = MeshResource<"HTTPLocalRateLimitPolicy">;

function labelsOf(policy: Policy): Readonly<Record<string, string>> {
  return policy.spec.targetRef.workloadSelector?.matchLabels ?? {};
}

/** The scopes a policy claims, as `port|route|specificity` (route `*` for target-wide). */
function scopesOf(policy: Policy): string[] {
  const port = policy.spec.targetRef.port ?? "*";
  const specificity = Object.keys(labelsOf(policy)).length > 0 ? "labels" : "namespace";
  const routes = policy.spec.routes !== undefined && policy.spec.routes.length > 0 ? [...new Set(policy.spec.routes)] : ["*"];
  return routes.map((route) => `${port}|${route}|${specificity}`);
}

function describeScope(scope: string): string {
  const [port, route] = scope.split("|") as [string, string];
  return `${port === "*" ? "every port" : `port ${port}`}${route === "*" ? "" : `, route ${q(route)}`}`;
}

/** Findings on every HTTPLocalRateLimitPolicy that shares a listener or route with an equally specific one. */
export function findConflictingRateLimitPolicies(index: MeshIndex): ConfigIssue[] {
  const policies = index.list("HTTPLocalRateLimitPolicy");
  if (policies.length < 2) return [];
  const useCatalog = index.catalog !== undefined && index.hasWorkloads;
  // Without a catalog only identical selectors are known to overlap; with one, any shared workload.
  const groupsOf = (policy: Policy): string[] => {
    const ns = index.namespaceOf(policy);
    const labels = labelsOf(policy);
    const targets =
      useCatalog && Object.keys(labels).length > 0
        ? index.selectWorkloads(labels, ns).map((w) => w.origin)
        : [`selector ${formatLabels(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))))}`];
    return scopesOf(policy).flatMap((scope) => targets.map((target) => `${ns}|${scope}|${target}`));
  };
  const rivals = findRivals(policies, groupsOf, (group) => {
    const [, port, route, , target] = group.split("|") as [string, string, string, string, string];
    return `${describeScope(`${port}|${route}`)}, ${target.startsWith("selector ") ? `same ${target}` : `e.g. ${target}`}`;
  });
  const findings: ConfigIssue[] = [];
  for (const policy of policies) {
    const others = rivals.get(policy);
    if (!others) continue;
    const ns = index.namespaceOf(policy);
    const names = [...others.entries()].map(([o, where]) => `HTTPLocalRateLimitPolicy ${qualifiedName(o, ns)} (${where})`);
    findings.push(
      makeFinding(
        "ConflictingRateLimitPolicy",
        { resource: policy, namespace: ns, path: ["spec", "targetRef"] },
        {
          message: `${names.join(", ")} also ${names.length === 1 ? "applies" : "apply"} to the same workloads; only one policy is enforced per listener and route, chosen by name`,
          hint: "merge the limits into one policy, or make the targets disjoint (workloadSelector, port or routes)",
        },
      ),
    );
  }
  return findings;
}
