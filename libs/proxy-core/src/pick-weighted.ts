// Weighted destination choice for a forwarding route, with the randomness injected.
import type { RouteAction, RouteDestination } from "./route-table.ts";

type Forward = Extract<RouteAction, { type: "forward" }>;

/**
 * The destination for `random` in [0, 1): destination i owns the interval
 * [cumulative(i-1), cumulative(i)) of [0, totalWeight), so each is chosen with probability
 * weight / totalWeight and a weight-0 destination never. Binary search over cumulative weights.
 */
export function pickWeighted(action: Forward, random: number): RouteDestination {
  const destinations = action.destinations;
  const target = random * action.totalWeight;
  let lo = 0;
  let hi = destinations.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((destinations[mid] as RouteDestination).cumulativeWeight > target) hi = mid;
    else lo = mid + 1;
  }
  return destinations[lo] as RouteDestination;
}
