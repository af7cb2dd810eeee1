// ConflictingSidecar: a workload gets one Sidecar configuration. Two Sidecars without
// workloadSelector in one namespace (istioctl: IST0121), or two whose selectors pick the same
// workload (IST0122, needs a catalog), leave it to creation order which one applies.
import type { ConfigIssue } from "../config-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { addToGroup } from "./add-to-group.ts";
import { findRivals } from "./find-rivals.ts";
import { formatLabels, makeFinding, q, qualifiedName } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

type Sidecar = MeshResource<"Sidecar">;

function labelsOf(sc: Sidecar): Readonly<Record<string, string>> {
  return sc.spec.workloadSelector?.labels ?? {};
}

/** Findings on every Sidecar that shares its workloads with another. */
export function findConflictingSidecars(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  const wide = new Map<string, Sidecar[]>();
  const selective: Sidecar[] = [];
  for (const sc of index.list("Sidecar")) {
    if (Object.keys(labelsOf(sc)).length > 0) selective.push(sc);
    else addToGroup(wide, index.namespaceOf(sc), sc);
  }
  for (const [ns, list] of wide) {
    if (list.length < 2) continue;
    for (const sc of list) {
      const others = list.filter((o) => o !== sc).map((o) => `Sidecar ${qualifiedName(o, ns)}`);
      findings.push(
        makeFinding(
          "ConflictingSidecar",
          { resource: sc, namespace: ns, path: ["metadata", "name"] },
          {
            message: `${others.join(", ")} also ${others.length === 1 ? "has" : "have"} no workloadSelector in namespace ${q(ns)}; only one of them applies`,
            hint: "keep one Sidecar without workloadSelector per namespace; give the others a workloadSelector",
          },
        ),
      );
    }
  }
  if (!index.catalog || !index.hasWorkloads) return findings;

  const rivals = findRivals(selective, (sc) => index.selectWorkloads(labelsOf(sc), index.namespaceOf(sc)), (w) => `e.g. ${w.origin}`);
  for (const sc of selective) {
    const others = rivals.get(sc);
    if (!others) continue;
    const ns = index.namespaceOf(sc);
    const names = [...others.entries()].map(([o, example]) => `Sidecar ${qualifiedName(o, ns)} (${example})`);
    findings.push(
      makeFinding(
        "ConflictingSidecar",
        { resource: sc, namespace: ns, path: ["spec", "workloadSelector", "labels"] },
        {
          message: `selector ${formatLabels(labelsOf(sc))} selects the same workloads as ${names.join(", ")}; only one Sidecar applies to a workload`,
          hint: "make the workloadSelectors disjoint, or merge the Sidecars",
        },
      ),
    );
  }
  return findings;
}
