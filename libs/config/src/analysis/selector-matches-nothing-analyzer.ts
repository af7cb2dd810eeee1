// SelectorMatchesNothing (needs a catalog): a workload selector that matches no workload — no
// catalog instance and no WorkloadEntry — so the resource applies to nothing (istioctl:
// IST0127 / NoMatchingWorkloadsFound). Selectors match in the resource's own namespace, except a
// Gateway's (its pods usually live in istio-system) and those of policies in the root namespace,
// which match in any namespace.
import type { ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { formatLabels, makeFinding, q } from "./make-finding.ts";
import { rootNamespace, type MeshIndex } from "./mesh-index.ts";

export interface SelectorUse {
  readonly resource: MeshResource;
  readonly labels: Readonly<Record<string, string>>;
  readonly path: FieldPath;
}

/** Every non-empty workload selector of the resources, with its field path. */
export function listSelectors(index: MeshIndex): SelectorUse[] {
  const uses: SelectorUse[] = [];
  const add = (resource: MeshResource, labels: Readonly<Record<string, string>> | undefined, path: FieldPath): void => {
    if (labels && Object.keys(labels).length > 0) uses.push({ resource, labels, path });
  };
  for (const r of index.list("PeerAuthentication")) add(r, r.spec.selector?.matchLabels, ["spec", "selector", "matchLabels"]);
  for (const r of index.list("RequestAuthentication")) add(r, r.spec.selector?.matchLabels, ["spec", "selector", "matchLabels"]);
  for (const r of index.list("AuthorizationPolicy")) add(r, r.spec.selector?.matchLabels, ["spec", "selector", "matchLabels"]);
  for (const r of index.list("Telemetry")) add(r, r.spec.selector?.matchLabels, ["spec", "selector", "matchLabels"]);
  for (const r of index.list("Sidecar")) add(r, r.spec.workloadSelector?.labels, ["spec", "workloadSelector", "labels"]);
  for (const r of index.list("DestinationRule")) add(r, r.spec.workloadSelector?.matchLabels, ["spec", "workloadSelector", "matchLabels"]);
  for (const r of index.list("Gateway")) add(r, r.spec.selector, ["spec", "selector"]);
  for (const r of index.list("ServiceEntry")) add(r, r.spec.workloadSelector?.labels, ["spec", "workloadSelector", "labels"]);
  for (const r of index.list("HTTPLocalRateLimitPolicy")) add(r, r.spec.targetRef.workloadSelector?.matchLabels, ["spec", "targetRef", "workloadSelector", "matchLabels"]);
  return uses;
}

/** One warning per selector that selects nothing; nothing without a catalog that lists instances. */
export function findSelectorsMatchingNothing(index: MeshIndex): ConfigIssue[] {
  // A catalog listing no instances at all says nothing about workloads: do not flag every selector.
  if (!index.catalog || !index.hasWorkloads) return [];
  const findings: ConfigIssue[] = [];
  for (const { resource, labels, path } of listSelectors(index)) {
    const namespace = index.namespaceOf(resource);
    const anywhere = resource.kind === "Gateway" || namespace === rootNamespace;
    const scope = anywhere ? "*" : namespace;
    if (index.selectWorkloads(labels, scope).length > 0) continue;
    findings.push(
      makeFinding(
        "SelectorMatchesNothing",
        { resource, namespace, path },
        {
          message: `selector ${formatLabels(labels)} matches no workload ${anywhere ? "in the mesh" : `in namespace ${q(namespace)}`}, so it applies to nothing`,
          hint: describeNearMisses(index, labels, scope),
        },
      ),
    );
  }
  return findings;
}

/** Says which values the selector's first unmatched label has in the scope, e.g. `app is one of "reviews", "ratings"`. */
function describeNearMisses(index: MeshIndex, labels: Readonly<Record<string, string>>, scope: string): string {
  const all = index.selectWorkloads({}, scope);
  for (const [key, value] of Object.entries(labels)) {
    if (index.selectWorkloads({ [key]: value }, scope).length > 0) continue;
    const values = [...new Set(all.map((w) => w.labels[key]).filter((v): v is string => v !== undefined))].sort();
    if (values.length === 0) return `no workload ${scope === "*" ? "" : `in namespace ${q(scope)} `}has a label ${q(key)}`;
    const shown = values.slice(0, 5).map(q).join(", ");
    return `no workload has ${key}=${value}; ${key} is ${values.length === 1 ? shown : `one of ${shown}${values.length > 5 ? ", ..." : ""}`}`;
  }
  return "each label matches some workload, but no workload has them all; check the labels against the pods (kubectl get pods --show-labels)";
}
