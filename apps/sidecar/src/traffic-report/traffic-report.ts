// The sidecar's compact traffic report for the control plane (DiscoveryRequest.report): per flow
// (reporter, source workload/app/version/namespace/principal, destination service/workload/
// version, response code, mTLS) the requests and duration buckets since the previous report. It
// reads the Istio metrics the way a scrape does (the registry's collect, no change to the hot
// path) and keeps the last totals it reported, so a report lost on a broken stream is counted in
// the next one.
import type { DiscoveryRequest } from "@meshwork/protocol";
import type { Registry } from "prom-client";

export type ProxyReport = NonNullable<DiscoveryRequest["report"]>;
export type TrafficStat = ProxyReport["traffic"][number];
export type Svid = NonNullable<ProxyReport["svid"]>;

export const REQUESTS_TOTAL = "istio_requests_total";
export const DURATION = "istio_request_duration_milliseconds";

/** One collected value as prom-client hands it out (`metric.get().values`). */
export interface MetricValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

/** Totals per flow since the proxy's start. */
interface FlowTotals {
  readonly stat: Omit<TrafficStat, "requests" | "durationCounts" | "durationSumMs">;
  requests: number;
  /** Cumulative count per bucket (the `le` order of `bounds`, then +Inf). */
  readonly cumulative: number[];
  sum: number;
}

export interface TrafficTotals {
  readonly bounds: readonly number[];
  readonly flows: ReadonlyMap<string, FlowTotals>;
}

const text = (labels: MetricValue["labels"], name: string): string => {
  const value = labels[name];
  return value === undefined || value === "unknown" ? "" : String(value);
};

function flowOf(labels: MetricValue["labels"]): FlowTotals["stat"] {
  return {
    reporter: text(labels, "reporter"),
    sourceWorkload: text(labels, "source_workload"),
    sourceNamespace: text(labels, "source_workload_namespace"),
    sourceApp: text(labels, "source_app"),
    sourceVersion: text(labels, "source_version"),
    sourcePrincipal: text(labels, "source_principal"),
    destinationService: text(labels, "destination_service"),
    destinationServiceName: text(labels, "destination_service_name"),
    destinationServiceNamespace: text(labels, "destination_service_namespace"),
    destinationWorkload: text(labels, "destination_workload"),
    destinationNamespace: text(labels, "destination_workload_namespace"),
    destinationApp: text(labels, "destination_app"),
    destinationVersion: text(labels, "destination_version"),
    destinationPrincipal: text(labels, "destination_principal"),
    responseCode: text(labels, "response_code"),
    connectionSecurityPolicy: text(labels, "connection_security_policy"),
  };
}

const flowKey = (stat: FlowTotals["stat"]): string => Object.values(stat).join("\u0000");

/**
 * Totals per flow from the collected values of istio_requests_total and of the duration
 * histogram (its `_bucket` and `_sum` lines). Series differing only in labels a report leaves
 * out (protocol, gRPC status, response flags, canonical names) are summed.
 */
export function trafficTotals(requests: readonly MetricValue[], durations: readonly MetricValue[]): TrafficTotals {
  const les = new Set<number>();
  for (const v of durations) {
    if (v.metricName?.endsWith("_bucket") !== true) continue;
    const le = Number(v.labels["le"]);
    if (Number.isFinite(le)) les.add(le);
  }
  const bounds = [...les].sort((a, b) => a - b);
  const index = new Map(bounds.map((b, i) => [String(b), i]));
  const flows = new Map<string, FlowTotals>();
  const totalsOf = (labels: MetricValue["labels"]): FlowTotals => {
    const stat = flowOf(labels);
    const key = flowKey(stat);
    let totals = flows.get(key);
    if (totals === undefined) {
      totals = { stat, requests: 0, cumulative: new Array<number>(bounds.length + 1).fill(0), sum: 0 };
      flows.set(key, totals);
    }
    return totals;
  };
  for (const v of requests) if (v.value > 0) totalsOf(v.labels).requests += v.value;
  for (const v of durations) {
    if (!(v.value > 0)) continue;
    if (v.metricName?.endsWith("_sum") === true) totalsOf(v.labels).sum += v.value;
    else if (v.metricName?.endsWith("_bucket") === true) {
      const le = String(v.labels["le"]);
      const i = le === "+Inf" ? bounds.length : index.get(String(Number(le)));
      if (i !== undefined) {
        const totals = totalsOf(v.labels);
        totals.cumulative[i] = (totals.cumulative[i] ?? 0) + v.value;
      }
    }
  }
  return { bounds, flows };
}

/**
 * The flows' increases from `previous` to `current` as report entries (flows without new requests
 * are left out; a total below the previous one is a reset and counts from 0). Bucket counts are
 * per bucket, trailing zeros dropped.
 */
export function trafficDelta(previous: TrafficTotals | undefined, current: TrafficTotals): TrafficStat[] {
  const sameBounds = previous !== undefined && previous.bounds.join() === current.bounds.join();
  const out: TrafficStat[] = [];
  for (const [key, now] of current.flows) {
    const before = sameBounds ? previous.flows.get(key) : undefined;
    const reset = before !== undefined && now.requests < before.requests;
    const base = reset ? undefined : before;
    const requests = now.requests - (base?.requests ?? 0);
    if (requests <= 0) continue;
    const cumulative = now.cumulative.map((c, i) => Math.max(0, c - (base?.cumulative[i] ?? 0)));
    const counts = cumulative.map((c, i) => Math.max(0, c - (i === 0 ? 0 : (cumulative[i - 1] ?? 0))));
    while (counts.length > 0 && counts.at(-1) === 0) counts.pop();
    out.push({ ...now.stat, requests, durationCounts: counts, durationSumMs: Math.max(0, now.sum - (base?.sum ?? 0)) });
  }
  return out;
}

/** The Istio metrics of `registry`, read as a scrape reads them. */
export async function readTrafficTotals(registry: Registry): Promise<TrafficTotals> {
  const read = async (name: string): Promise<MetricValue[]> => {
    const metric = registry.getSingleMetric(name);
    if (metric === undefined) return [];
    return (await metric.get()).values as MetricValue[];
  };
  const [requests, durations] = await Promise.all([read(REQUESTS_TOTAL), read(DURATION)]);
  return trafficTotals(requests, durations);
}
