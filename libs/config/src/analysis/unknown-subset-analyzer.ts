// UnknownSubset: a route sends traffic to a subset that the DestinationRules applying to its host do
// not define. Envoy then has no cluster for the subset and answers 503 (istioctl: IST0101).
// The rules are those Istio picks for clients in the VirtualService's namespace (mesh-index.ts):
// a rule there for the host hides the service namespace's rule, subsets and all.
import { closestName } from "../closest-name.ts";
import type { ConfigIssue } from "../config-issue.ts";
import { makeFinding, q, qualifiedName } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

/** One finding per destination naming an undefined subset, in resource and route order. */
export function findUnknownSubsets(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    for (const use of index.destinationsOf(vs)) {
      const { host, subset } = use.destination;
      if (subset === undefined || subset === "") continue;
      const lookup = index.findDestinationRules(host, namespace);
      const defined = lookup.rules.flatMap((dr) => (dr.spec.subsets ?? []).map((s) => s.name));
      if (defined.includes(subset)) continue;
      const rules = lookup.rules.map((dr) => `DestinationRule ${qualifiedName(dr, index.namespaceOf(dr))}`);
      // Short version names (v1 vs v4) are different versions, not typos: only suggest case slips there.
      const near = subset.length >= 4 ? closestName(subset, defined) : defined.find((d) => d.toLowerCase() === subset.toLowerCase());
      const checked =
        rules.length === 0
          ? `; no DestinationRule applies to ${q(lookup.host)}`
          : `; ${rules.join(" and ")} ${rules.length === 1 ? "defines" : "define"} ${defined.length === 0 ? "no subsets" : defined.map(q).join(", ")}`;
      findings.push(
        makeFinding(
          "UnknownSubset",
          { resource: vs, namespace, path: [...use.path, "subset"] },
          {
            message: `subset ${q(subset)} is not defined in any DestinationRule for host ${q(host)}${checked}`,
            hint: near
              ? `did you mean subset ${q(near)}?`
              : rules.length > 0
                ? `add subset ${q(subset)} with its labels to ${rules[0]}, or route to a defined subset`
                : `create a DestinationRule for host ${q(host)} that defines subset ${q(subset)} with its labels`,
          },
        ),
      );
    }
  }
  return findings;
}
