import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { PROXY_COUNTERS, PROXY_GAUGES, createProxyStats } from "./proxy-stats.ts";

const cluster = "outbound|9080||reviews.default.svc.cluster.local";

/** The exposition's lines for one metric name: `# TYPE` and samples. */
function linesOf(text: string, name: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `) || l === `# TYPE ${name} counter` || l === `# TYPE ${name} gauge`);
}

describe("createProxyStats", () => {
  it("emits per-cluster counters and gauges labelled cluster_name", async () => {
    const registry = new Registry();
    const stats = createProxyStats(registry);
    const retry = stats.counter("envoy_cluster_upstream_rq_retry", cluster);
    retry.inc();
    retry.inc(2);
    stats.counter("meshwork_load_shed_total", cluster).inc();
    stats.counter("meshwork_load_shed_total", "inbound|9080||").inc(4);
    const ejected = stats.gauge("envoy_cluster_outlier_detection_ejections_active", cluster);
    ejected.inc();
    ejected.inc();
    ejected.dec();
    const text = await registry.metrics();
    expect(linesOf(text, "envoy_cluster_upstream_rq_retry")).toEqual([
      "# TYPE envoy_cluster_upstream_rq_retry counter",
      `envoy_cluster_upstream_rq_retry{cluster_name="${cluster}"} 3`,
    ]);
    expect(linesOf(text, "meshwork_load_shed_total")).toEqual([
      "# TYPE meshwork_load_shed_total counter",
      `meshwork_load_shed_total{cluster_name="${cluster}"} 1`,
      'meshwork_load_shed_total{cluster_name="inbound|9080||"} 4',
    ]);
    expect(linesOf(text, "envoy_cluster_outlier_detection_ejections_active")).toEqual([
      "# TYPE envoy_cluster_outlier_detection_ejections_active gauge",
      `envoy_cluster_outlier_detection_ejections_active{cluster_name="${cluster}"} 1`,
    ]);
  });

  it("registers every named metric, even before a cluster binds it", async () => {
    const registry = new Registry();
    createProxyStats(registry);
    const text = await registry.metrics();
    for (const name of [...Object.keys(PROXY_COUNTERS), ...Object.keys(PROXY_GAUGES)]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it("returns the same handle for the same (name, cluster), so a config rebuild keeps counting", () => {
    const stats = createProxyStats(new Registry());
    expect(stats.counter("envoy_cluster_upstream_cx_overflow", cluster)).toBe(stats.counter("envoy_cluster_upstream_cx_overflow", cluster));
    expect(stats.counter("envoy_cluster_upstream_cx_overflow", cluster)).not.toBe(stats.counter("envoy_cluster_upstream_cx_overflow", "other"));
  });

  it("zeroes with registry.resetMetrics()", async () => {
    const registry = new Registry();
    const stats = createProxyStats(registry);
    stats.counter("meshwork_rate_limited_total", cluster).inc();
    registry.resetMetrics();
    expect(await registry.metrics()).toContain(`meshwork_rate_limited_total{cluster_name="${cluster}"} 0`);
  });

  it("rejects an unknown name with the place to add it", () => {
    const stats = createProxyStats(new Registry());
    expect(() => stats.counter("nope" as "envoy_cluster_upstream_rq_retry", "c")).toThrow(/PROXY_COUNTERS/);
  });
});
