// UnknownGateway: a VirtualService (or one of its matches) is bound to a Gateway that no resource
// defines, so its routes are applied nowhere for that binding (istioctl: IST0101).
import { closestName } from "../closest-name.ts";
import type { ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { addToGroup } from "./add-to-group.ts";
import { makeFinding, q } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";
import { resolveGatewayName } from "./resolve-gateway-name.ts";

/** Every gateway reference (spec.gateways and match gateways) naming a missing Gateway. */
export function findUnknownGateways(index: MeshIndex): ConfigIssue[] {
  const gateways = index.list("Gateway");
  const byName = new Map<string, string[]>();
  for (const gw of gateways) {
    addToGroup(byName, gw.metadata.name, index.namespaceOf(gw));
  }
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    for (const { reference, path } of gatewayReferences(vs)) {
      const ref = resolveGatewayName(reference, namespace);
      if (ref.mesh || index.find("Gateway", ref.namespace, ref.name)) continue;
      const elsewhere = byName.get(ref.name) ?? [];
      const near = closestName(
        ref.name,
        gateways.filter((gw) => index.namespaceOf(gw) === ref.namespace).map((gw) => gw.metadata.name),
      );
      findings.push(
        makeFinding(
          "UnknownGateway",
          { resource: vs, namespace, path },
          {
            message: `gateway ${q(reference)} does not exist (no Gateway ${q(ref.name)} in namespace ${q(ref.namespace)})`,
            hint:
              elsewhere.length > 0
                ? `a Gateway ${q(ref.name)} exists in namespace ${q(elsewhere[0] as string)}; write ${q(`${elsewhere[0]}/${ref.name}`)}`
                : near
                  ? `did you mean ${q(near)}?`
                  : `create Gateway ${ref.namespace}/${ref.name}, or bind to an existing gateway (or mesh for the sidecars)`,
          },
        ),
      );
    }
  }
  return findings;
}

function gatewayReferences(vs: MeshResource<"VirtualService">): { reference: string; path: FieldPath }[] {
  const refs: { reference: string; path: FieldPath }[] = [];
  for (const [i, reference] of (vs.spec.gateways ?? []).entries()) refs.push({ reference, path: ["spec", "gateways", i] });
  for (const protocol of ["http", "tls", "tcp"] as const) {
    for (const [i, rule] of (vs.spec[protocol] ?? []).entries()) {
      for (const [j, match] of (rule.match ?? []).entries()) {
        for (const [k, reference] of (match.gateways ?? []).entries()) refs.push({ reference, path: ["spec", protocol, i, "match", j, "gateways", k] });
      }
    }
  }
  return refs;
}
