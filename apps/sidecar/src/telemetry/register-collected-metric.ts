// Puts a metric whose values live in our own plain objects onto a prom-client Registry.
// prom-client's own children re-hash every label on each inc()/observe() (15.1.3 hashes the
// label object into a string per call); the sidecar's series are bound once at config time
// and only read here, at scrape time.

import type { Metric, Registry } from "prom-client";

export type CollectedMetricType = "counter" | "gauge" | "histogram";

/** One sample line: `metricName{labels} value`; metricName defaults to the metric's name. */
export interface CollectedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export interface CollectedMetric {
  name: string;
  help: string;
  type: CollectedMetricType;
  /** Builds the sample lines at scrape time (the only place that allocates). */
  collect(): CollectedValue[];
  /** Zeroes the values (prom-client's `registry.resetMetrics()`). */
  reset(): void;
}

/**
 * Registers `metric` on `registry` in the shape prom-client's Registry reads
 * (`get()` → `{ name, help, type, values, aggregator }`), so `registry.metrics()`,
 * `getMetricsAsJSON()` and `Registry.merge` treat it as any other metric.
 * Throws if the name is already registered (prom-client's own check).
 */
export function registerCollectedMetric(registry: Registry, metric: CollectedMetric): void {
  const adapter = {
    name: metric.name,
    help: metric.help,
    type: metric.type,
    aggregator: "sum" as const,
    get: () =>
      Promise.resolve({
        name: metric.name,
        help: metric.help,
        type: metric.type,
        aggregator: "sum" as const,
        values: metric.collect(),
      }),
    reset: () => metric.reset(),
  };
  // prom-client types registerMetric with its own classes; at run time it reads only the fields above.
  registry.registerMetric(adapter as unknown as Metric);
}

/**
 * Appends a histogram's `_bucket` (cumulative, `le` inclusive, ending with `+Inf`), `_sum` and
 * `_count` lines. `counts[i]` holds the observations that fell in bucket i (not cumulative);
 * `counts[bounds.length]` those above the last bound.
 */
export function pushHistogramValues(
  out: CollectedValue[],
  name: string,
  labels: Record<string, string>,
  bounds: readonly number[],
  counts: Float64Array,
  offset: number,
  sum: number,
): void {
  let cumulative = 0;
  const bucketName = `${name}_bucket`;
  for (let i = 0; i <= bounds.length; i++) {
    cumulative += counts[offset + i] ?? 0;
    const le = i < bounds.length ? String(bounds[i]) : "+Inf";
    out.push({ labels: { ...labels, le }, value: cumulative, metricName: bucketName });
  }
  out.push({ labels, value: sum, metricName: `${name}_sum` });
  out.push({ labels, value: cumulative, metricName: `${name}_count` });
}

/**
 * The index of the bucket `value` falls in: the first bound >= value (Prometheus' `le` is
 * inclusive), or `bounds.length` above the last. A linear scan: most observations are small and
 * land in the first few of Istio's 19 buckets.
 */
export function bucketIndex(bounds: Float64Array, value: number): number {
  const n = bounds.length;
  let i = 0;
  while (i < n && value > (bounds[i] as number)) i++;
  return i;
}
