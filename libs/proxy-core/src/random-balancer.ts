// RANDOM: each pick independent, endpoint i chosen with probability weight_i / sum(weights).
import { usableEndpoints, type Endpoint, type LoadBalancer, type Random } from "./endpoint.ts";

/** A weighted random balancer; binary search over cumulative weights. */
export function createRandomBalancer(endpoints: readonly Endpoint[], random: Random): LoadBalancer {
  const sample = weightedSampler(endpoints, usableEndpoints(endpoints));
  return { pick: () => sample(random()) };
}

/** Maps r in [0,1) to one of `usable` (endpoint indices) with probability proportional to weight; -1 when empty. */
export function weightedSampler(endpoints: readonly Endpoint[], usable: readonly number[]): (r: number) => number {
  const cumulative = new Float64Array(usable.length);
  let total = 0;
  usable.forEach((index, i) => {
    total += (endpoints[index] as Endpoint).weight;
    cumulative[i] = total;
  });
  return (r) => {
    if (usable.length === 0) return -1;
    const target = r * total;
    let lo = 0;
    let hi = usable.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return usable[lo] as number;
  };
}
