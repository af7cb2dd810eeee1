// The live side of one cluster: its endpoints with their pools and in-flight counts, the load
// balancer over the healthy ones, the circuit breaker and outlier detection. Built from a
// ClusterSpec when a config arrives; pools are shared across config versions by PoolRegistry so
// a config swap does not drop warm connections.
import { CircuitBreaker, createLoadBalancer, OutlierDetector, type ClusterSpec, type LoadBalancer, type Locality } from "@meshwork/proxy-core";
import type { MetricPeer } from "../telemetry/istio-metrics.ts";
import type { EndpointPool } from "../upstream/endpoint-pool.ts";

export interface EndpointRuntime {
  readonly address: string;
  readonly pool: EndpointPool;
  /** Requests in flight to this endpoint (LEAST_REQUEST reads it). */
  active: number;
  /** Istio metric recorder for requests to this endpoint, bound on first use. */
  metrics: MetricPeer | undefined;
}

export interface PoolSource {
  pool(cluster: ClusterSpec, host: string, port: number): EndpointPool;
}

export class ClusterRuntime {
  readonly spec: ClusterSpec;
  readonly name: string;
  readonly endpoints: readonly EndpointRuntime[];
  readonly breaker: CircuitBreaker;
  readonly outlier: OutlierDetector | undefined;
  /** Envoy's cluster stats the admin page and metrics show. */
  readonly stats = { requests: 0, retries: 0, overflows: 0, noHealthy: 0, ejections: 0, connectFailures: 0, timeouts: 0 };
  private balancer: LoadBalancer;
  private nextTickMs = 0;
  private readonly random: () => number;

  /** The proxy's own locality, when locality-aware balancing applies. */
  private readonly proxyLocality: Locality | undefined;

  constructor(spec: ClusterSpec, pools: PoolSource, nowMs: number, proxyLocality: Locality | undefined, random: () => number = Math.random) {
    this.spec = spec;
    this.proxyLocality = proxyLocality;
    this.name = spec.name;
    this.random = random;
    this.endpoints = spec.endpoints.map((e) => ({ address: e.address, pool: pools.pool(spec, e.host, e.port), active: 0, metrics: undefined }));
    this.breaker = new CircuitBreaker(spec.connectionPool);
    this.outlier = spec.outlier ? new OutlierDetector(spec.endpoints.length, spec.outlier, nowMs) : undefined;
    this.balancer = this.buildBalancer();
  }

  /**
   * Index of the endpoint for a request, or -1 (no healthy upstream: 503 UH). `avoid` is an
   * endpoint tried before. `nowMs` lets outlier detection return endpoints whose ejection is over.
   */
  pick(hash: number | undefined, avoid = -1, nowMs?: number): number {
    if (this.outlier && nowMs !== undefined && nowMs >= this.nextTickMs) {
      this.nextTickMs = nowMs + 100;
      this.tick(nowMs);
    }
    const first = this.balancer.pick(hash);
    if (first < 0 || first !== avoid || this.endpoints.length < 2) return first;
    // retry_host_predicate previous_hosts: Istio lets Envoy re-pick up to 5 times before giving up on avoiding.
    for (let i = 0; i < 5; i++) {
      const again = this.balancer.pick(hash === undefined ? undefined : hash + i + 1);
      if (again !== avoid) return again;
    }
    return first;
  }

  /** Takes one unit of the cluster's retry budget (maxRetries), counting an overflow when it is spent. */
  acquireRetry(): boolean {
    if (this.breaker.tryAcquire("retries").ok) return true;
    this.stats.overflows += 1;
    return false;
  }

  /** Feeds an upstream outcome (HTTP status, or 503 for a connect failure / reset) to outlier detection. */
  recordOutcome(endpoint: number, status: number, nowMs: number): void {
    if (!this.outlier) return;
    const changes = this.outlier.recordResponse(endpoint, status, nowMs);
    if (changes.ejected.length > 0 || changes.returned.length > 0) this.applyOutlierChanges(changes.ejected.length);
  }

  /** Periodic outlier bookkeeping (un-ejection when the ejection time is over). */
  tick(nowMs: number): void {
    if (!this.outlier) return;
    const changes = this.outlier.tick(nowMs);
    if (changes.ejected.length > 0 || changes.returned.length > 0) this.applyOutlierChanges(changes.ejected.length);
  }

  isEjected(endpoint: number): boolean {
    return this.outlier?.isEjected(endpoint) ?? false;
  }

  private applyOutlierChanges(newlyEjected: number): void {
    this.stats.ejections += newlyEjected;
    this.balancer = this.buildBalancer();
  }

  private buildBalancer(): LoadBalancer {
    const endpoints = this.spec.endpoints.map((e, i) => (e.healthy && this.isEjected(i) ? { ...e, healthy: false } : e));
    return createLoadBalancer(this.spec.balancer, endpoints, {
      random: this.random,
      activeRequests: (i) => (this.endpoints[i] as EndpointRuntime).active,
      ...(this.spec.locality && this.proxyLocality ? { locality: { proxy: this.proxyLocality, failover: this.spec.locality.failover } } : {}),
    });
  }
}
