// DuplicateHost: two VirtualServices bound to the same gateway claim the same host. For the sidecars
// (`mesh`) Istio uses only one of them and silently drops the other (istioctl: IST0109); on a
// Gateway their routes are merged in an order the user does not control, so it is a warning there.
// Delegates (VirtualServices some route delegates to) have no hosts of their own and are skipped.
import type { ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { addToGroup } from "./add-to-group.ts";
import { makeFinding, q, qualifiedName } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";
import { gatewayKey, resolveGatewayName } from "./resolve-gateway-name.ts";

interface Claim {
  readonly vs: MeshResource<"VirtualService">;
  readonly namespace: string;
  readonly path: FieldPath;
  readonly host: string;
}

/** One finding per VirtualService host that another VirtualService on the same gateway also claims. */
export function findDuplicateHosts(index: MeshIndex): ConfigIssue[] {
  // gateway key + resolved host → claims, in input order.
  const claims = new Map<string, Claim[]>();
  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    if (index.delegateTargets.has(`${namespace}/${vs.metadata.name}`)) continue;
    const gateways = vs.spec.gateways && vs.spec.gateways.length > 0 ? vs.spec.gateways : ["mesh"];
    const keys = new Set(gateways.map((g) => gatewayKey(resolveGatewayName(g, namespace))));
    for (const [i, host] of (vs.spec.hosts ?? []).entries()) {
      const resolved = index.candidates(host, namespace)[0] ?? host;
      for (const key of keys) addToGroup(claims, `${key}|${resolved}`, { vs, namespace, path: ["spec", "hosts", i], host: resolved });
    }
  }

  const findings: ConfigIssue[] = [];
  for (const [key, list] of claims) {
    if (list.length < 2) continue;
    const gateway = key.slice(0, key.indexOf("|"));
    const isMesh = gateway === "mesh";
    for (const claim of list) {
      // On the sidecars, two VirtualServices only collide where both are visible (exportTo).
      const rivals = list.filter((other) => other !== claim && (!isMesh || visibleTogether(claim, other)));
      if (rivals.length === 0) continue;
      const names = rivals.map((r) => `${r.vs.kind} ${qualifiedName(r.vs, r.namespace)}`).join(", ");
      findings.push(
        makeFinding(
          "DuplicateHost",
          { resource: claim.vs, namespace: claim.namespace, path: claim.path },
          isMesh
            ? {
                message: `host ${q(claim.host)} on the sidecars (mesh) is also claimed by ${names}; Istio applies only one of them`,
                hint: "merge the routes into one VirtualService per host, or use delegate VirtualServices",
              }
            : {
                message: `host ${q(claim.host)} on gateway ${q(gateway)} is also claimed by ${names}; their routes are merged in an order you do not control`,
                hint: "keep one VirtualService per host and gateway, or use delegate VirtualServices",
                severity: "warning",
              },
        ),
      );
    }
  }
  return findings;
}

function visibleTogether(a: Claim, b: Claim): boolean {
  const everywhere = (c: Claim): boolean => (c.vs.spec.exportTo ?? []).length === 0 || (c.vs.spec.exportTo ?? []).includes("*");
  if (everywhere(a) || everywhere(b)) return true;
  const namespaces = (c: Claim): string[] => (c.vs.spec.exportTo ?? []).map((e) => (e === "." ? c.namespace : e));
  const seen = new Set(namespaces(a));
  return namespaces(b).some((ns) => seen.has(ns));
}
