// The endpoints a load balancer chooses among, as the proxy knows them from discovery: address,
// weight, health (outlier-ejected endpoints are passed as unhealthy) and locality.

/** Istio locality `region/zone/subzone`; empty strings for unknown levels. */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface Endpoint {
  /** `ip:port`; also the identity hashed onto rings and Maglev tables. */
  readonly address: string;
  /** Relative weight, ≥ 1 (Istio/Envoy default 1). */
  readonly weight: number;
  readonly healthy: boolean;
  readonly locality: Locality;
}

/** A source of uniform numbers in [0, 1); injected so every balancer is deterministic under test. */
export type Random = () => number;

/** Chooses an endpoint for one request. Built once per endpoint set; rebuilt when it changes. */
export interface LoadBalancer {
  /**
   * Index into the endpoint list the balancer was built from, or -1 when no endpoint can take the
   * request (Envoy: 503 with flag UH). `hash` is the request's consistent-hash key (see
   * hashString); balancers that do not hash ignore it, hashing ones pick at random without it.
   */
  pick(hash?: number): number;
}

/**
 * Indices of the endpoints to balance over: the healthy ones, or — when fewer than
 * `panicThresholdPercent` of them are healthy — all of them (Envoy's panic mode, default 50 %).
 */
export function usableEndpoints(endpoints: readonly Endpoint[], panicThresholdPercent = 50): number[] {
  const healthy: number[] = [];
  endpoints.forEach((e, i) => {
    if (e.healthy) healthy.push(i);
  });
  if (endpoints.length > 0 && (healthy.length * 100) / endpoints.length < panicThresholdPercent) return endpoints.map((_, i) => i);
  return healthy;
}
