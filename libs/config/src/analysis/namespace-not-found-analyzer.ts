// NamespaceNotFound (needs a catalog): an AuthorizationPolicy source names a namespace in which no
// workload runs (no catalog service, no WorkloadEntry), so the rule can never match a caller — most
// often a typo (istioctl: IST0101 namespace). Wildcards (`prod-*`, `*-test`, `*`) match by prefix/suffix.
import type { ConfigIssue } from "../config-issue.ts";
import { closestName } from "../closest-name.ts";
import { makeFinding, q } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

/** One warning per namespaces/notNamespaces entry that matches no namespace with workloads. */
export function findUnknownNamespaces(index: MeshIndex): ConfigIssue[] {
  if (!index.catalog) return [];
  const known = [...index.workloadNamespaces].sort();
  const findings: ConfigIssue[] = [];
  for (const ap of index.list("AuthorizationPolicy")) {
    const namespace = index.namespaceOf(ap);
    for (const [i, rule] of (ap.spec.rules ?? []).entries()) {
      for (const [j, from] of (rule.from ?? []).entries()) {
        for (const field of ["namespaces", "notNamespaces"] as const) {
          for (const [k, pattern] of (from.source?.[field] ?? []).entries()) {
            if (known.some((ns) => namespaceMatches(pattern, ns))) continue;
            const near = closestName(pattern, known);
            findings.push(
              makeFinding(
                "NamespaceNotFound",
                { resource: ap, namespace, path: ["spec", "rules", i, "from", j, "source", field, k] },
                {
                  message: `${field} entry ${q(pattern)} matches no namespace with workloads in the catalog`,
                  hint: near ? `did you mean ${q(near)}?` : `namespaces with workloads: ${known.slice(0, 8).join(", ")}${known.length > 8 ? ", ..." : ""}`,
                },
              ),
            );
          }
        }
      }
    }
  }
  return findings;
}

/** Istio's namespace match: exact, `*`, `prefix*` or `*suffix`. */
export function namespaceMatches(pattern: string, namespace: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*")) return namespace.endsWith(pattern.slice(1));
  if (pattern.endsWith("*")) return namespace.startsWith(pattern.slice(0, -1));
  return pattern === namespace;
}
