// Istio's MergeTrafficPolicy (pilot/pkg/networking/util): the policy of one cluster from a
// DestinationRule's top-level policy, the subset's policy and the port being built.
import type { MeshResource } from "@meshwork/config";

/** A decoded DestinationRule TrafficPolicy. */
export type TrafficPolicySpec = NonNullable<MeshResource<"DestinationRule">["spec"]["trafficPolicy"]>;

/** The four settings a cluster is built from; each undefined when no level sets it. */
export interface EffectivePolicy {
  readonly loadBalancer: TrafficPolicySpec["loadBalancer"];
  readonly connectionPool: TrafficPolicySpec["connectionPool"];
  readonly outlierDetection: TrafficPolicySpec["outlierDetection"];
  readonly tls: TrafficPolicySpec["tls"];
}

const empty: EffectivePolicy = { loadBalancer: undefined, connectionPool: undefined, outlierDetection: undefined, tls: undefined };

/**
 * 1. The top-level policy; a top-level portLevelSettings entry for `port` replaces all four
 *    settings (unset ones fall back to defaults, not to the top level).
 * 2. The subset's settings override field by field (a set subset field replaces the whole field).
 * 3. A subset portLevelSettings entry for `port` replaces all four again.
 */
export function mergeTrafficPolicy(top: TrafficPolicySpec | undefined, subset: TrafficPolicySpec | undefined, port: number): EffectivePolicy {
  let merged = applyPortLevel(top ? pick(top) : empty, top, port);
  if (!subset) return merged;
  merged = {
    loadBalancer: subset.loadBalancer ?? merged.loadBalancer,
    connectionPool: subset.connectionPool ?? merged.connectionPool,
    outlierDetection: subset.outlierDetection ?? merged.outlierDetection,
    tls: subset.tls ?? merged.tls,
  };
  return applyPortLevel(merged, subset, port);
}

function pick(p: TrafficPolicySpec): EffectivePolicy {
  return { loadBalancer: p.loadBalancer, connectionPool: p.connectionPool, outlierDetection: p.outlierDetection, tls: p.tls };
}

function applyPortLevel(base: EffectivePolicy, policy: TrafficPolicySpec | undefined, port: number): EffectivePolicy {
  const level = policy?.portLevelSettings?.find((p) => p.port?.number === port);
  if (!level) return base;
  return { loadBalancer: level.loadBalancer, connectionPool: level.connectionPool, outlierDetection: level.outlierDetection, tls: level.tls };
}
