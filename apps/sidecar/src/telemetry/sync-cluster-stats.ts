// Envoy's per-cluster Prometheus series (`envoy_cluster_upstream_rq_pending_overflow{cluster_name}`
// and the rest of PROXY_COUNTERS / PROXY_GAUGES) from the counters the data path keeps on each
// ClusterRuntime. Called at scrape time, so the hot path pays one addition per event and nothing
// else. A config push that changes a cluster builds a new runtime whose counters start at zero:
// the exported counters take each runtime's increase since the last scrape, so they never go down.
import type { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import type { ProxyCounterName, ProxyStats } from "./proxy-stats.ts";

type RuntimeCounter = keyof ClusterRuntime["stats"];

/** ClusterRuntime counter → Envoy's name (noHealthy has none: it shows as 503 UH in the request metrics). */
const counterNames: readonly (readonly [RuntimeCounter, ProxyCounterName])[] = [
  ["requests", "envoy_cluster_upstream_rq_total"],
  ["retries", "envoy_cluster_upstream_rq_retry"],
  // Every circuit-breaker overflow the data path answers 503 UO (pending requests, requests, the retry budget).
  ["overflows", "envoy_cluster_upstream_rq_pending_overflow"],
  ["timeouts", "envoy_cluster_upstream_rq_timeout"],
  ["connectFailures", "envoy_cluster_upstream_cx_connect_fail"],
  ["ejections", "envoy_cluster_outlier_detection_ejections_enforced_total"],
];

/** Returns the function to call before each scrape with the clusters in use. */
export function clusterStatsSync(proxyStats: ProxyStats): (clusters: Iterable<ClusterRuntime>) => void {
  const seen = new WeakMap<ClusterRuntime, Record<RuntimeCounter, number>>();
  return (clusters) => {
    for (const cluster of clusters) {
      const last = seen.get(cluster);
      for (const [from, to] of counterNames) {
        const increase = cluster.stats[from] - (last?.[from] ?? 0);
        if (increase > 0 || last === undefined) proxyStats.counter(to, cluster.name).inc(Math.max(0, increase));
      }
      seen.set(cluster, { ...cluster.stats });
      let active = 0;
      let open = 0;
      let ejected = 0;
      let healthy = 0;
      cluster.endpoints.forEach((endpoint, i) => {
        active += endpoint.active;
        open += endpoint.pool.open;
        const out = cluster.isEjected(i);
        if (out) ejected += 1;
        if (!out && cluster.spec.endpoints[i]?.healthy !== false) healthy += 1;
      });
      proxyStats.gauge("envoy_cluster_upstream_rq_active", cluster.name).set(active);
      proxyStats.gauge("envoy_cluster_upstream_cx_active", cluster.name).set(open);
      proxyStats.gauge("envoy_cluster_outlier_detection_ejections_active", cluster.name).set(ejected);
      proxyStats.gauge("envoy_cluster_membership_healthy", cluster.name).set(healthy);
      proxyStats.gauge("envoy_cluster_membership_total", cluster.name).set(cluster.endpoints.length);
    }
  };
}
