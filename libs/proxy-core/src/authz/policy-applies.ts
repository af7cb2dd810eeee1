// Which AuthorizationPolicies apply to a workload (Istio's policy scope): a policy in the root
// namespace without selector applies to the whole mesh, one in the workload's namespace without
// selector to the namespace, one with `selector` to the workloads whose labels match (in every
// namespace when it lives in the root namespace), one with `targetRef(s)` to the Gateway or
// Service it names.
import type { MeshResource } from "@meshwork/config";

/** The workload a sidecar (or gateway) serves. */
export interface AuthzWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Services (in the workload's namespace) that select it, for `targetRefs` of kind Service / ServiceEntry. */
  readonly services?: readonly string[];
}

/** Label Gateway API puts on a Gateway's deployment; targetRefs of kind Gateway select by it. */
export const gatewayNameLabel = "gateway.networking.k8s.io/gateway-name";

export function policyApplies(policy: MeshResource<"AuthorizationPolicy">, workload: AuthzWorkload, rootNamespace: string): boolean {
  const namespace = policy.metadata.namespace ?? workload.namespace;
  const spec = policy.spec ?? {};
  const refs = spec.targetRefs ?? (spec.targetRef ? [spec.targetRef] : undefined);
  if (refs && refs.length > 0) {
    if (namespace !== workload.namespace) return false;
    return refs.some((ref) => {
      if ((ref.namespace ?? namespace) !== namespace) return false;
      if (ref.kind === "Gateway") return workload.labels[gatewayNameLabel] === ref.name;
      if (ref.kind === "Service" || ref.kind === "ServiceEntry") return (workload.services ?? []).includes(ref.name);
      return false;
    });
  }
  if (spec.selector) {
    if (namespace !== rootNamespace && namespace !== workload.namespace) return false;
    const matchLabels = spec.selector.matchLabels ?? {};
    for (const key in matchLabels) if (workload.labels[key] !== matchLabels[key]) return false;
    return true;
  }
  return namespace === rootNamespace || namespace === workload.namespace;
}
