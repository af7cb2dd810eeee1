// The factory that turns a DestinationRule's loadBalancer settings (validated once) into a
// balancer over an endpoint set — the "factory" third of an Envoy filter.
import type { Endpoint, LoadBalancer, Locality, Random } from "./endpoint.ts";
import { createLeastRequestBalancer } from "./least-request-balancer.ts";
import { createLocalityAwareBalancer } from "./locality-aware-balancer.ts";
import type { RegionFailover } from "./locality-priorities.ts";
import { createMaglevBalancer } from "./maglev-balancer.ts";
import { createRandomBalancer } from "./random-balancer.ts";
import { createRingHashBalancer } from "./ring-hash-balancer.ts";
import { createRoundRobinBalancer } from "./round-robin-balancer.ts";

/** Which algorithm, after defaults: Istio's unset `simple` is LEAST_REQUEST (LEAST_CONN is its old name). */
export type BalancerKind =
  | { readonly type: "least-request" }
  | { readonly type: "round-robin" }
  | { readonly type: "random" }
  | { readonly type: "ring-hash"; readonly minimumRingSize: number }
  | { readonly type: "maglev"; readonly tableSize: number };

/** Decoded LoadBalancerSettings, the parts that choose the algorithm. */
export interface LoadBalancerSpec {
  readonly simple?: string | undefined;
  readonly consistentHash?:
    | {
        readonly ringHash?: { readonly minimumRingSize?: number | undefined } | undefined;
        readonly maglev?: { readonly tableSize?: number | undefined } | undefined;
        readonly minimumRingSize?: number | undefined;
      }
    | undefined;
}

/** Chooses the algorithm: consistentHash wins over simple; ring hash unless maglev is asked for. */
export function balancerKind(spec: LoadBalancerSpec | undefined): BalancerKind {
  const ch = spec?.consistentHash;
  if (ch) {
    if (ch.maglev) return { type: "maglev", tableSize: ch.maglev.tableSize ?? 65537 };
    return { type: "ring-hash", minimumRingSize: ch.ringHash?.minimumRingSize ?? ch.minimumRingSize ?? 1024 };
  }
  switch (spec?.simple) {
    case "ROUND_ROBIN":
      return { type: "round-robin" };
    case "RANDOM":
      return { type: "random" };
    default:
      return { type: "least-request" };
  }
}

export interface BalancerDeps {
  readonly random: Random;
  /** In-flight requests of endpoint i (same indices as the endpoint list), for LEAST_REQUEST. */
  readonly activeRequests: (endpointIndex: number) => number;
  /** When set, traffic prefers the proxy's locality and fails over by priority. */
  readonly locality?: { readonly proxy: Locality; readonly failover?: readonly RegionFailover[] };
}

/** Builds the balancer of `kind` over `endpoints`. */
export function createLoadBalancer(kind: BalancerKind, endpoints: readonly Endpoint[], deps: BalancerDeps): LoadBalancer {
  const build = (subset: readonly Endpoint[], active: (endpointIndex: number) => number): LoadBalancer => {
    switch (kind.type) {
      case "least-request":
        return createLeastRequestBalancer(subset, { random: deps.random, activeRequests: active });
      case "round-robin":
        return createRoundRobinBalancer(subset, { startOffset: Math.floor(deps.random() * Math.max(subset.length, 1)) });
      case "random":
        return createRandomBalancer(subset, deps.random);
      case "ring-hash":
        return createRingHashBalancer(subset, { minimumRingSize: kind.minimumRingSize, random: deps.random });
      case "maglev":
        return createMaglevBalancer(subset, { tableSize: kind.tableSize, random: deps.random });
    }
  };
  if (!deps.locality) return build(endpoints, deps.activeRequests);
  const locality = deps.locality;
  return createLocalityAwareBalancer(endpoints, {
    proxyLocality: locality.proxy,
    ...(locality.failover ? { failover: locality.failover } : {}),
    random: deps.random,
    // Inner balancers see their priority's endpoints by local index; map active counts through.
    build: (subset, indices) => build(subset, (i) => deps.activeRequests(indices[i] as number)),
  });
}
