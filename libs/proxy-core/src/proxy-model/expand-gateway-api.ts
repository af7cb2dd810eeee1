// Adds the Istio Gateways and VirtualServices the Gateway API resources of a config stand for
// (convertGatewayApi, libs/config), so the rest of the compiler sees Istio resources only. The
// last conversion is kept: a snapshot whose Gateway API resources are the same objects as the
// previous one's gets the very same converted objects (route caches compare by identity).
import type { MeshResource } from "@meshwork/config";
// Its own entry: the sidecar converts in standalone mode without loading the schemas (RSS).
import { convertGatewayApi, displayKind, isGatewayApiInput, isGatewayApiResource } from "@meshwork/config/gateway-api";

export interface ExpandedResources {
  /** `resources` plus the converted ones (after them). */
  readonly resources: readonly MeshResource[];
  /** What could not be converted, as `HTTPRoute "ns/name" spec.rules.0...: message — hint`. */
  readonly issues: readonly string[];
}

let last: { inputs: readonly MeshResource[]; key: string; converted: readonly MeshResource[]; issues: readonly string[] } | undefined;

/** `resources` with the Gateway API kinds converted; the same array when there are none. */
export function expandGatewayApi(resources: readonly MeshResource[], options: { readonly defaultNamespace: string; readonly domainSuffix: string }): ExpandedResources {
  const inputs = resources.filter(isGatewayApiInput);
  if (!inputs.some(isGatewayApiResource)) return { resources, issues: [] };
  const key = `${options.defaultNamespace}\0${options.domainSuffix}`;
  if (last === undefined || last.key !== key || last.inputs.length !== inputs.length || last.inputs.some((r, i) => r !== inputs[i])) {
    const result = convertGatewayApi(inputs, options);
    const issues = result.issues.map((i) => `${displayKind(i.resource.kind)} "${i.resource.metadata.namespace ?? options.defaultNamespace}/${i.resource.metadata.name}" ${i.path.join(".")}: ${i.message} — ${i.hint}`);
    last = { inputs, key, converted: result.resources, issues };
  }
  return { resources: [...resources, ...last.converted], issues: last.issues };
}
