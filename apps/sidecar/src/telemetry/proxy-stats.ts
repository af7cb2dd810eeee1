// The proxy's own per-cluster counters and gauges, under the names Envoy users already graph and
// alert on (`envoy_cluster_upstream_rq_retry{cluster_name="outbound|9080||reviews..."}`), plus
// Meshwork's own. Handles are bound once per cluster at config time; `inc()` is one addition.

import type { Registry } from "prom-client";
import { registerCollectedMetric, type CollectedValue } from "./register-collected-metric.ts";

/** Every counter, with its help text. Envoy's names keep Envoy's meaning. */
export const PROXY_COUNTERS = {
  envoy_cluster_upstream_rq_total: "Total requests sent upstream.",
  envoy_cluster_upstream_rq_retry: "Total request retries.",
  envoy_cluster_upstream_rq_retry_success: "Total request retry successes.",
  envoy_cluster_upstream_rq_retry_overflow: "Total requests not retried due to circuit breaking or the retry budget.",
  envoy_cluster_upstream_rq_timeout: "Total requests that timed out waiting for a response.",
  envoy_cluster_upstream_rq_pending_overflow: "Total requests that overflowed the pending-request circuit breaker.",
  envoy_cluster_upstream_cx_total: "Total upstream connections opened.",
  envoy_cluster_upstream_cx_connect_fail: "Total upstream connection failures.",
  envoy_cluster_upstream_cx_overflow: "Total times the cluster's connection circuit breaker overflowed.",
  envoy_cluster_outlier_detection_ejections_enforced_total: "Number of enforced outlier ejections.",
  meshwork_load_shed_total: "Requests rejected by the proxy's load shedding (response flag DO/OM).",
  meshwork_rate_limited_total: "Requests rejected by local rate limiting (response flag RL).",
} as const;

/** Every gauge, with its help text. */
export const PROXY_GAUGES = {
  envoy_cluster_outlier_detection_ejections_active: "Number of currently ejected hosts.",
  envoy_cluster_upstream_cx_active: "Total active upstream connections.",
  envoy_cluster_upstream_rq_active: "Total active upstream requests.",
  envoy_cluster_membership_healthy: "Current cluster healthy total (inclusive of both health checking and outlier detection).",
  envoy_cluster_membership_total: "Current cluster membership total.",
} as const;

export type ProxyCounterName = keyof typeof PROXY_COUNTERS;
export type ProxyGaugeName = keyof typeof PROXY_GAUGES;

/** A counter bound to one cluster. */
export class ClusterCounter {
  value = 0;
  /** Adds `n` (default 1); `n` must not be negative. */
  inc(n = 1): void {
    this.value += n;
  }
}

/** A gauge bound to one cluster. */
export class ClusterGauge {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

export interface ProxyStats {
  /**
   * The counter `name` for `clusterName` (label `cluster_name`, as Istio's Envoy tags it). The same
   * handle is returned for the same pair, so a config rebuild keeps counting. Config-time only.
   */
  counter(name: ProxyCounterName, clusterName: string): ClusterCounter;
  /** The gauge `name` for `clusterName`; same sharing as `counter`. */
  gauge(name: ProxyGaugeName, clusterName: string): ClusterGauge;
}

/** Registers every PROXY_COUNTERS and PROXY_GAUGES metric on `registry` (once per registry). */
export function createProxyStats(registry: Registry): ProxyStats {
  const counters = new Map<string, Map<string, ClusterCounter>>();
  const gauges = new Map<string, Map<string, ClusterGauge>>();
  for (const [name, help] of Object.entries(PROXY_COUNTERS)) {
    const byCluster = new Map<string, ClusterCounter>();
    counters.set(name, byCluster);
    registerCollectedMetric(registry, {
      name,
      help,
      type: "counter",
      collect: () => collect(byCluster),
      reset: () => byCluster.forEach((c) => (c.value = 0)),
    });
  }
  for (const [name, help] of Object.entries(PROXY_GAUGES)) {
    const byCluster = new Map<string, ClusterGauge>();
    gauges.set(name, byCluster);
    registerCollectedMetric(registry, {
      name,
      help,
      type: "gauge",
      collect: () => collect(byCluster),
      reset: () => byCluster.forEach((g) => (g.value = 0)),
    });
  }
  return {
    counter(name, clusterName) {
      return bind(counters, name, clusterName, () => new ClusterCounter());
    },
    gauge(name, clusterName) {
      return bind(gauges, name, clusterName, () => new ClusterGauge());
    },
  };
}

function bind<T>(table: Map<string, Map<string, T>>, name: string, clusterName: string, create: () => T): T {
  const byCluster = table.get(name);
  if (byCluster === undefined) {
    throw new RangeError(`proxyStats: unknown metric "${name}"; add it to PROXY_COUNTERS or PROXY_GAUGES in proxy-stats.ts`);
  }
  let handle = byCluster.get(clusterName);
  if (handle === undefined) {
    handle = create();
    byCluster.set(clusterName, handle);
  }
  return handle;
}

function collect(byCluster: Map<string, { value: number }>): CollectedValue[] {
  const out: CollectedValue[] = [];
  for (const [cluster_name, handle] of byCluster) out.push({ labels: { cluster_name }, value: handle.value });
  return out;
}
