// LEAST_REQUEST, Envoy's default: power of two choices (Mitzenmacher 2001) — draw two endpoints
// at random and take the one with fewer active requests. Active counts are owned by the proxy
// (incremented when a request starts, decremented when it ends) and read here.
import { usableEndpoints, type Endpoint, type LoadBalancer, type Random } from "./endpoint.ts";
import { weightedSampler } from "./random-balancer.ts";

/**
 * A P2C balancer. `activeRequests(i)` is endpoint i's in-flight count (same indices as
 * `endpoints`). With unequal weights both candidates are drawn by weight and compared by
 * active / weight — a simplification of Envoy's EDF over weight / (active + 1).
 */
export function createLeastRequestBalancer(
  endpoints: readonly Endpoint[],
  options: { random: Random; activeRequests: (endpointIndex: number) => number; choiceCount?: number },
): LoadBalancer {
  const usable = usableEndpoints(endpoints);
  const sample = weightedSampler(endpoints, usable);
  const choices = options.choiceCount ?? 2;
  const { random, activeRequests } = options;
  const load = (i: number): number => activeRequests(i) / (endpoints[i] as Endpoint).weight;
  return {
    pick() {
      if (usable.length === 0) return -1;
      let best = sample(random());
      for (let c = 1; c < choices; c++) {
        const candidate = sample(random());
        if (load(candidate) < load(best)) best = candidate;
      }
      return best;
    },
  };
}
