// ROUND_ROBIN: smooth weighted round robin (nginx's algorithm): over any window of sum(weights)
// picks each endpoint is chosen exactly weight times, interleaved rather than in bursts.
import { usableEndpoints, type Endpoint, type LoadBalancer } from "./endpoint.ts";

/**
 * A weighted round-robin balancer over the usable endpoints. `startOffset` (an injected random
 * integer) staggers where proxies start, so a fleet restarted together does not hit one endpoint first.
 */
export function createRoundRobinBalancer(endpoints: readonly Endpoint[], options: { startOffset?: number } = {}): LoadBalancer {
  const usable = usableEndpoints(endpoints);
  const n = usable.length;
  const weights = Float64Array.from(usable, (i) => (endpoints[i] as Endpoint).weight);
  const total = weights.reduce((a, b) => a + b, 0);
  const current = new Float64Array(n);
  const equal = weights.every((w) => w === weights[0]);
  let next = n === 0 ? 0 : (options.startOffset ?? 0) % n;
  return {
    pick() {
      if (n === 0) return -1;
      if (equal) {
        const chosen = usable[next] as number;
        next = (next + 1) % n;
        return chosen;
      }
      let best = 0;
      for (let i = 0; i < n; i++) {
        current[i] = (current[i] as number) + (weights[i] as number);
        if ((current[i] as number) > (current[best] as number)) best = i;
      }
      current[best] = (current[best] as number) - total;
      return usable[best] as number;
    },
  };
}
