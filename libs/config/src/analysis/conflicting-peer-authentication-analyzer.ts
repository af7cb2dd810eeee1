// ConflictingPeerAuthentication: Istio applies one PeerAuthentication per scope — the oldest one —
// and ignores the rest, so two of the same scope make the outcome depend on creation order:
// two mesh-wide ones (root namespace, no selector), two namespace-wide ones in a namespace, or two
// workload ones selecting the same workload (found through the catalog's instances; without them, only
// identical selectors are reported).
import type { ConfigIssue } from "../config-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { describeResource, formatLabels, makeFinding, q, qualifiedName } from "./make-finding.ts";
import { rootNamespace, type MeshIndex, type Workload } from "./mesh-index.ts";

type PeerAuthentication = MeshResource<"PeerAuthentication">;

/** Whether a PeerAuthentication has a selector that narrows it to some workloads. */
export function hasWorkloadSelector(pa: PeerAuthentication): boolean {
  return Object.keys(pa.spec.selector?.matchLabels ?? {}).length > 0;
}

/** Findings on every PeerAuthentication that shares its scope with another. */
export function findConflictingPeerAuthentications(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  const wide = new Map<string, PeerAuthentication[]>();
  const selective = new Map<string, PeerAuthentication[]>();
  for (const pa of index.list("PeerAuthentication")) {
    const groups = hasWorkloadSelector(pa) ? selective : wide;
    const ns = index.namespaceOf(pa);
    const list = groups.get(ns);
    if (list) list.push(pa);
    else groups.set(ns, [pa]);
  }

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
            message: `${describeResource(pa)} and ${others.join(", ")} are both ${scope}; Istio applies only the oldest one`,
            hint: ns === rootNamespace ? "keep a single mesh-wide PeerAuthentication in the root namespace" : "keep a single PeerAuthentication without selector per namespace",
          },
        ),
      );
    }
  }

  for (const [ns, list] of selective) {
    if (list.length < 2) continue;
    // For each policy: the others selecting one of its workloads, with one such workload as example.
    const rivals = new Map<PeerAuthentication, Map<PeerAuthentication, string>>(list.map((pa) => [pa, new Map()]));
    const note = (a: PeerAuthentication, b: PeerAuthentication, example: string): void => {
      if (!rivals.get(a)?.has(b)) rivals.get(a)?.set(b, example);
      if (!rivals.get(b)?.has(a)) rivals.get(b)?.set(a, example);
    };
    if (index.catalog && index.hasWorkloads) {
      const selectedBy = new Map<Workload, PeerAuthentication[]>();
      for (const pa of list) {
        for (const w of index.selectWorkloads(pa.spec.selector?.matchLabels ?? {}, ns)) {
          const owners = selectedBy.get(w);
          if (owners) owners.push(pa);
          else selectedBy.set(w, [pa]);
        }
      }
      for (const [w, owners] of selectedBy) {
        for (let i = 0; i < owners.length; i++) {
          for (let j = i + 1; j < owners.length; j++) note(owners[i] as PeerAuthentication, owners[j] as PeerAuthentication, `e.g. ${w.origin}`);
        }
      }
    } else {
      const bySelector = new Map<string, PeerAuthentication[]>();
      for (const pa of list) {
        const key = selectorKey(pa.spec.selector?.matchLabels ?? {});
        const same = bySelector.get(key);
        if (same) {
          for (const other of same) note(other, pa, "the same selector");
          same.push(pa);
        } else bySelector.set(key, [pa]);
      }
    }
    for (const pa of list) {
      const others = rivals.get(pa);
      if (!others || others.size === 0) continue;
      const names = [...others.entries()].map(([o, example]) => `PeerAuthentication ${qualifiedName(o, ns)} (${example})`);
      findings.push(
        makeFinding(
          "ConflictingPeerAuthentication",
          { resource: pa, namespace: ns, path: ["spec", "selector", "matchLabels"] },
          {
            message: `${describeResource(pa)} (selector ${formatLabels(pa.spec.selector?.matchLabels ?? {})}) selects the same workloads as ${names.join(", ")}; Istio applies only the oldest policy to a workload`,
            hint: "make the selectors disjoint, or merge the policies into one (portLevelMtls can vary the mode per port)",
          },
        ),
      );
    }
  }
  return findings;
}

function selectorKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}
