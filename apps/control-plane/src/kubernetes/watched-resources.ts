// The Kubernetes collections the control plane lists and watches: every mesh kind of
// @meshwork/config (Istio's networking.istio.io, security.istio.io and telemetry.istio.io, policy.meshwork.io, the
// Gateway API's gateway.networking.k8s.io, whose CRDs may be absent, and core Namespaces, whose
// labels Gateway listeners' allowedRoutes selectors read) at
// its storage version, plus Services and EndpointSlices for service discovery. Cluster-wide paths,
// as deploy/k8s's ClusterRole grants them. Pods only for the labels and service account of the
// endpoints (DestinationRule subsets).
import { resourceKinds, yamlKindOf } from "@meshwork/config";

export interface WatchedResource {
  /** API group; "" is the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  /** API path of the collection across namespaces (list and watch). */
  readonly path: string;
  /** The CRD is not Meshwork's and may not be installed (the Gateway API's): a missing collection is empty. */
  readonly optional?: boolean;
}

/** The mesh kinds' collections, one per kind, at the first (storage) version the CRDs serve. */
export function meshResources(): WatchedResource[] {
  return resourceKinds.map((kind) => {
    const version = kind.versions[0] as string;
    // The core group ("") is served under /api, the others under /apis/<group>.
    const path = kind.group === "" ? `/api/${version}/${kind.plural}` : `/apis/${kind.group}/${version}/${kind.plural}`;
    return { group: kind.group, version, plural: kind.plural, kind: yamlKindOf(kind), path, ...("upstreamCrds" in kind ? { optional: true } : {}) };
  });
}

export const servicesResource: WatchedResource = { group: "", version: "v1", plural: "services", kind: "Service", path: "/api/v1/services" };
export const endpointSlicesResource: WatchedResource = { group: "discovery.k8s.io", version: "v1", plural: "endpointslices", kind: "EndpointSlice", path: "/apis/discovery.k8s.io/v1/endpointslices" };
export const podsResource: WatchedResource = { group: "", version: "v1", plural: "pods", kind: "Pod", path: "/api/v1/pods" };
