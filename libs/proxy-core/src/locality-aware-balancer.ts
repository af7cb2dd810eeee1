// Composes locality priorities with any balancer: pick a priority by its load share, then let
// that priority's own balancer (built over its endpoints only) pick inside it.
import type { Endpoint, LoadBalancer, Locality, Random } from "./endpoint.ts";
import { assignLocalityPriorities, computePriorityLoad, type RegionFailover } from "./locality-priorities.ts";

export interface LocalityAwareOptions {
  readonly proxyLocality: Locality;
  readonly failover?: readonly RegionFailover[];
  readonly random: Random;
  /** Builds the balancer used inside one priority, over that priority's endpoints (`indices` into the full list). */
  readonly build: (endpoints: readonly Endpoint[], indices: readonly number[]) => LoadBalancer;
}

/** A balancer that keeps traffic in the closest healthy locality and fails over by priority. */
export function createLocalityAwareBalancer(endpoints: readonly Endpoint[], options: LocalityAwareOptions): LoadBalancer & { readonly priorityLoad: readonly number[] } {
  const priorities = assignLocalityPriorities(endpoints, options.proxyLocality, options.failover);
  const count = priorities.length === 0 ? 0 : Math.max(...priorities) + 1;
  const members: number[][] = Array.from({ length: count }, () => []);
  priorities.forEach((p, i) => (members[p] as number[]).push(i));
  const levels = members.map((indices) => ({
    indices,
    balancer: options.build(indices.map((i) => endpoints[i] as Endpoint), indices),
    healthy: indices.filter((i) => (endpoints[i] as Endpoint).healthy).length,
  }));
  const priorityLoad = computePriorityLoad(
    levels.map((l) => l.healthy),
    levels.map((l) => l.indices.length),
  );
  const cumulative: number[] = [];
  priorityLoad.reduce((sum, load) => {
    cumulative.push(sum + load);
    return sum + load;
  }, 0);
  return {
    priorityLoad,
    pick(hash) {
      if (levels.length === 0) return -1;
      // Envoy (load_balancer_impl.cc chooseHostSet): a hashed request picks its priority by hash % 100, so it sticks.
      const r = hash !== undefined ? hash % 100 : options.random() * 100;
      let p = cumulative.findIndex((c) => r < c);
      if (p < 0) p = levels.length - 1;
      const level = levels[p] as (typeof levels)[number];
      const inner = level.balancer.pick(hash);
      return inner < 0 ? -1 : (level.indices[inner] as number);
    },
  };
}
