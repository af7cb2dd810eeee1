// ConflictingSidecar: a workload gets one Sidecar configuration. Two Sidecars without
// workloadSelector in one namespace (istioctl: IST0121), or two whose selectors pick the same
// workload (IST0122, needs a catalog), leave it to creation order which one applies.
import type { ConfigIssue } from "../config-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { describeResource, makeFinding, q, qualifiedName } from "./make-finding.ts";
import type { MeshIndex, Workload } from "./mesh-index.ts";

type Sidecar = MeshResource<"Sidecar">;

/** Findings on every Sidecar that shares its workloads with another. */
export function findConflictingSidecars(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  const wide = new Map<string, Sidecar[]>();
  const selective: Sidecar[] = [];
  for (const sc of index.list("Sidecar")) {
    if (Object.keys(sc.spec.workloadSelector?.labels ?? {}).length > 0) {
      selective.push(sc);
      continue;
    }
    const ns = index.namespaceOf(sc);
    const list = wide.get(ns);
    if (list) list.push(sc);
    else wide.set(ns, [sc]);
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
            message: `${describeResource(sc)} and ${others.join(", ")} have no workloadSelector in namespace ${q(ns)}; only one of them applies`,
            hint: "keep one Sidecar without workloadSelector per namespace; give the others a workloadSelector",
          },
        ),
      );
    }
  }
  if (!index.catalog || !index.hasWorkloads) return findings;

  const selectedBy = new Map<Workload, Sidecar[]>();
  for (const sc of selective) {
    for (const w of index.selectWorkloads(sc.spec.workloadSelector?.labels ?? {}, index.namespaceOf(sc))) {
      const owners = selectedBy.get(w);
      if (owners) owners.push(sc);
      else selectedBy.set(w, [sc]);
    }
  }
  const rivals = new Map<Sidecar, Map<Sidecar, string>>();
  for (const [w, owners] of selectedBy) {
    if (owners.length < 2) continue;
    for (const a of owners) {
      let map = rivals.get(a);
      if (!map) rivals.set(a, (map = new Map()));
      for (const b of owners) if (b !== a && !map.has(b)) map.set(b, w.origin);
    }
  }
  for (const sc of selective) {
    const others = rivals.get(sc);
    if (!others) continue;
    const ns = index.namespaceOf(sc);
    const names = [...others.entries()].map(([o, origin]) => `Sidecar ${qualifiedName(o, ns)} (e.g. ${origin})`);
    findings.push(
      makeFinding(
        "ConflictingSidecar",
        { resource: sc, namespace: ns, path: ["spec", "workloadSelector", "labels"] },
        {
          message: `${describeResource(sc)} selects the same workloads as ${names.join(", ")}; only one Sidecar applies to a workload`,
          hint: "make the workloadSelectors disjoint, or merge the Sidecars",
        },
      ),
    );
  }
  return findings;
}
