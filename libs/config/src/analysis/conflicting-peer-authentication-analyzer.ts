// ConflictingPeerAuthentication: Istio applies one PeerAuthentication per scope — the oldest one —
// and ignores the rest, so two of the same scope make the outcome depend on creation order:
// two mesh-wide ones (root namespace, no selector), two namespace-wide ones in a namespace, or two
// workload ones selecting the same workload (found through the catalog's instances; without them, only
// identical selectors are reported).
import type { ConfigIssue } from "../config-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { addToGroup } from "./add-to-group.ts";
import { findRivals } from "./find-rivals.ts";
import { formatLabels, makeFinding, q, qualifiedName } from "./make-finding.ts";
import { rootNamespace, type MeshIndex } from "./mesh-index.ts";
import { selectorKey } from "./selector-key.ts";

type PeerAuthentication = MeshResource<"PeerAuthentication">;

/** Whether a PeerAuthentication has a selector that narrows it to some workloads. */
export function hasWorkloadSelector(pa: PeerAuthentication): boolean {
  return Object.keys(labelsOf(pa)).length > 0;
}

function labelsOf(pa: PeerAuthentication): Readonly<Record<string, string>> {
  return pa.spec.selector?.matchLabels ?? {};
}

/** Findings on every PeerAuthentication that shares its scope with another. */
export function findConflictingPeerAuthentications(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  const wide = new Map<string, PeerAuthentication[]>();
  const selective = new Map<string, PeerAuthentication[]>();
  for (const pa of index.list("PeerAuthentication")) addToGroup(hasWorkloadSelector(pa) ? selective : wide, index.namespaceOf(pa), pa);

  for (const [ns, list] of wide) {
    if (list.length < 2) continue;
    const scope = ns === rootNamespace ? "mesh-wide (root namespace, no selector)" : `namespace-wide in ${q(ns)} (no selector)`;
    for (const pa of list) {
      const others = list.filter((o) => o !== pa).map((o) => `PeerAuthentication ${qualifiedName(o, ns)}`);
      findings.push(
        makeFinding(
          "ConflictingPeerAuthentication",
          { resource: pa, namespace: ns, path: ["metadata", "name"] },
          {
            message: `${others.join(", ")} ${others.length === 1 ? "is" : "are"} also ${scope}; Istio applies only the oldest one`,
            hint: ns === rootNamespace ? "keep a single mesh-wide PeerAuthentication in the root namespace" : "keep a single PeerAuthentication without selector per namespace",
          },
        ),
      );
    }
  }

  for (const [ns, list] of selective) {
    if (list.length < 2) continue;
    // For each policy: the others selecting one of its workloads, with one such workload as example.
    const rivals =
      index.catalog && index.hasWorkloads
        ? findRivals(list, (pa) => index.selectWorkloads(labelsOf(pa), ns), (w) => `e.g. ${w.origin}`)
        : findRivals(list, (pa) => [selectorKey(labelsOf(pa))], () => "the same selector");
    for (const pa of list) {
      const others = rivals.get(pa);
      if (!others || others.size === 0) continue;
      const names = [...others.entries()].map(([o, example]) => `PeerAuthentication ${qualifiedName(o, ns)} (${example})`);
      findings.push(
        makeFinding(
          "ConflictingPeerAuthentication",
          { resource: pa, namespace: ns, path: ["spec", "selector", "matchLabels"] },
          {
            message: `selector ${formatLabels(labelsOf(pa))} selects the same workloads as ${names.join(", ")}; Istio applies only the oldest policy to a workload`,
            hint: "make the selectors disjoint, or merge the policies into one (portLevelMtls can vary the mode per port)",
          },
        ),
      );
    }
  }
  return findings;
}
