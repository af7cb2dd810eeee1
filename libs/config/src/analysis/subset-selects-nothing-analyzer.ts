// SubsetSelectsNothing (needs a catalog with instances): a DestinationRule subset whose labels match
// no instance of its service, so routes to the subset find no endpoint and answer 503
// (istioctl: IST0173). Services listed without instances are not checked.
import type { ConfigIssue } from "../config-issue.ts";
import { formatLabels, makeFinding, q } from "./make-finding.ts";
import { labelsMatch, type MeshIndex } from "./mesh-index.ts";

/** One warning per subset that selects no instance of its catalog service. */
export function findEmptySubsets(index: MeshIndex): ConfigIssue[] {
  if (!index.catalog) return [];
  const findings: ConfigIssue[] = [];
  for (const dr of index.list("DestinationRule")) {
    const namespace = index.namespaceOf(dr);
    const subsets = dr.spec.subsets ?? [];
    if (subsets.length === 0) continue;
    const target = index.findService(dr.spec.host, namespace);
    if (target?.kind !== "catalog") continue;
    const instances = target.service.instances;
    if (!instances || instances.length === 0) continue;
    for (const [i, subset] of subsets.entries()) {
      const labels = subset.labels ?? {};
      if (instances.some((instance) => labelsMatch(labels, instance.labels))) continue;
      const versions = [...new Set(instances.map((instance) => formatLabels(instance.labels)))].slice(0, 3);
      findings.push(
        makeFinding(
          "SubsetSelectsNothing",
          { resource: dr, namespace, path: ["spec", "subsets", i, "labels"] },
          {
            message: `subset ${q(subset.name)} selects ${formatLabels(labels)}, which no instance of service ${q(target.host)} has, so traffic routed to it fails`,
            hint: `match the labels of the instances (e.g. ${versions.join(", ")}), or deploy the version the subset names`,
          },
        ),
      );
    }
  }
  return findings;
}
