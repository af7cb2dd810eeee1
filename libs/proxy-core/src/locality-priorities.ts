// Locality-aware failover as Istio configures Envoy: endpoints are ranked into priorities by how
// close their locality is to the proxy's, and traffic spills from one priority to the next as
// its healthy share drops (Envoy "priority levels", overprovisioning factor 1.4).
import type { Endpoint, Locality } from "./endpoint.ts";

/** Istio LocalityLoadBalancerSetting.Failover: when `from` has no healthy endpoints, go to `to`. */
export interface RegionFailover {
  readonly from: string;
  readonly to: string;
}

/**
 * Priority of each endpoint relative to `proxy`: same region/zone/subzone, same region/zone, same
 * region, the failover region for the proxy's region, then the rest — with empty levels removed,
 * so priorities are dense from 0.
 */
export function assignLocalityPriorities(endpoints: readonly Endpoint[], proxy: Locality, failover: readonly RegionFailover[] = []): number[] {
  const failoverRegion = failover.find((f) => f.from === proxy.region)?.to;
  const raw = endpoints.map(({ locality: l }) => {
    if (l.region === proxy.region) {
      if (l.zone === proxy.zone) return l.subZone === proxy.subZone ? 0 : 1;
      return 2;
    }
    return failoverRegion !== undefined && l.region === failoverRegion ? 3 : 4;
  });
  const present = [...new Set(raw)].sort((a, b) => a - b);
  return raw.map((p) => present.indexOf(p));
}

/**
 * Share of traffic (percent, summing to 100) for each priority, from its healthy and total
 * endpoint counts. Envoy: health_p = min(100, 1.4 × 100 × healthy_p / total_p); priorities take
 * load in order up to their health; when total health is below 100 the loads are scaled up to
 * sum to 100 (and with no healthy endpoint at all, priority 0 takes everything).
 */
export function computePriorityLoad(healthy: readonly number[], total: readonly number[], overprovisioningFactor = 1.4): number[] {
  const health = total.map((t, p) => (t === 0 ? 0 : Math.min(100, (overprovisioningFactor * 100 * (healthy[p] ?? 0)) / t)));
  const totalHealth = Math.min(100, health.reduce((a, b) => a + b, 0));
  if (totalHealth === 0) return total.map((_, p) => (p === 0 ? 100 : 0));
  let remaining = 100;
  return health.map((h) => {
    const load = Math.min(remaining, (h * 100) / totalHealth);
    remaining -= load;
    return load;
  });
}
