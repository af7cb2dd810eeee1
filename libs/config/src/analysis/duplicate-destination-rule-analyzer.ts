// DuplicateDestinationRule: several DestinationRules without workloadSelector for the same host in one
// namespace. Istio merges them: subsets are combined (a repeated subset name is dropped) and only
// the first rule's trafficPolicy counts, so the outcome depends on creation order (istioctl: IST0174).
import type { ConfigIssue } from "../config-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { addToGroup } from "./add-to-group.ts";
import { makeFinding, q, qualifiedName } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

/** One warning per DestinationRule that shares its namespace and host with another. */
export function findDuplicateDestinationRules(index: MeshIndex): ConfigIssue[] {
  const groups = new Map<string, { dr: MeshResource<"DestinationRule">; namespace: string; host: string }[]>();
  for (const dr of index.list("DestinationRule")) {
    if (dr.spec.workloadSelector) continue;
    const namespace = index.namespaceOf(dr);
    const host = index.candidates(dr.spec.host, namespace)[0] ?? dr.spec.host;
    const key = `${namespace}|${host}`;
    addToGroup(groups, key, { dr, namespace, host });
  }
  const findings: ConfigIssue[] = [];
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    for (const { dr, namespace, host } of list) {
      const others = list.filter((o) => o.dr !== dr).map((o) => `DestinationRule ${qualifiedName(o.dr, o.namespace)}`);
      findings.push(
        makeFinding(
          "DuplicateDestinationRule",
          { resource: dr, namespace, path: ["spec", "host"] },
          {
            message: `${others.join(", ")} also ${others.length === 1 ? "applies" : "apply"} to host ${q(host)} in namespace ${q(namespace)}; Istio merges them and only the oldest one's trafficPolicy counts`,
            hint: "keep one DestinationRule per host and namespace (put all subsets and policies in it), or give each a workloadSelector",
          },
        ),
      );
    }
  }
  return findings;
}
