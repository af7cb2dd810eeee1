// What proxies report on the discovery stream (DiscoveryRequest.report): per proxy a short history
// of traffic deltas (requests and duration buckets per flow since the proxy's previous report) and
// its current SVID. The console's default traffic source reads the history (reportTrafficSource);
// the identities page reads the SVIDs.
import type { DiscoveryRequest } from "@meshwork/protocol";
import type { ProxyNode } from "@meshwork/proxy-core";
import type { MetricSample } from "./prometheus-text.ts";
import { DURATION_BUCKET, REQUESTS_TOTAL } from "./traffic-graph.ts";
import type { TrafficDelta } from "./traffic-history.ts";

export type ProxyReport = NonNullable<DiscoveryRequest["report"]>;
type TrafficStat = ProxyReport["traffic"][number];

/** A proxy's SVID as it last reported it. */
export interface ReportedSvid {
  readonly proxyId: string;
  readonly spiffeId: string;
  readonly serial: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** When the control plane received it (its clock). */
  readonly reportedAtMs: number;
}

export interface ProxyReportsOptions {
  readonly now: () => number;
  /** History kept (default 1 h, the longest console window). */
  readonly retainMs?: number;
  /** Flows kept of one report (default 5,000): a proxy cannot make the control plane hold more. */
  readonly maxFlowsPerReport?: number;
}

const UNKNOWN = "unknown";
const orUnknown = (value: string): string => (value === "" ? UNKNOWN : value);
const count = (value: number): number => (Number.isFinite(value) && value > 0 ? value : 0);

/** Istio's label names of a reported flow (as istio_requests_total carries them). */
export function statLabels(stat: TrafficStat): Record<string, string> {
  return {
    reporter: orUnknown(stat.reporter),
    source_workload: orUnknown(stat.sourceWorkload),
    source_workload_namespace: orUnknown(stat.sourceNamespace),
    source_app: orUnknown(stat.sourceApp),
    source_version: orUnknown(stat.sourceVersion),
    source_principal: orUnknown(stat.sourcePrincipal),
    destination_service: orUnknown(stat.destinationService),
    destination_service_name: orUnknown(stat.destinationServiceName),
    destination_service_namespace: orUnknown(stat.destinationServiceNamespace),
    destination_workload: orUnknown(stat.destinationWorkload),
    destination_workload_namespace: orUnknown(stat.destinationNamespace),
    destination_app: orUnknown(stat.destinationApp),
    destination_version: orUnknown(stat.destinationVersion),
    destination_principal: orUnknown(stat.destinationPrincipal),
    response_code: orUnknown(stat.responseCode),
    connection_security_policy: orUnknown(stat.connectionSecurityPolicy),
  };
}

/**
 * A report's flows as the increases of istio_requests_total and of the cumulative
 * istio_request_duration_milliseconds_bucket series (what a scrape or Prometheus would give).
 */
export function reportSamples(report: ProxyReport, maxFlows = 5_000): { requests: MetricSample[]; durationBuckets: MetricSample[] } {
  const bounds = report.durationBoundsMs.filter((b) => Number.isFinite(b));
  const requests: MetricSample[] = [];
  const durationBuckets: MetricSample[] = [];
  for (const stat of report.traffic.slice(0, maxFlows)) {
    const n = count(stat.requests);
    if (n === 0) continue;
    const labels = statLabels(stat);
    requests.push({ name: REQUESTS_TOTAL, labels, value: n });
    if (stat.durationCounts.length === 0) continue;
    let cumulative = 0;
    for (let i = 0; i <= bounds.length; i++) {
      cumulative += count(stat.durationCounts[i] ?? 0);
      if (cumulative > 0) durationBuckets.push({ name: DURATION_BUCKET, labels: { ...labels, le: i < bounds.length ? String(bounds[i]) : "+Inf" }, value: cumulative });
    }
  }
  return { requests, durationBuckets };
}

/**
 * A kept report: its samples (label objects shared by every report of the same flow) and the
 * interval the proxy counted, which with the proxy's id names the report across replicas.
 */
export interface ReportDelta extends TrafficDelta {
  /** The proxy's clock: the report counts the requests of (intervalStartMs, intervalEndMs]. */
  readonly intervalStartMs: number;
  readonly intervalEndMs: number;
}

/** What names one report of one proxy, whichever replica received it. */
export function reportKey(delta: Pick<ReportDelta, "proxyId" | "intervalStartMs" | "intervalEndMs">): string {
  return `${delta.proxyId}\u0000${delta.intervalStartMs}\u0000${delta.intervalEndMs}`;
}

/**
 * The reports of every proxy that streams to this control plane, kept for `retainMs`. Reports
 * without requests keep nothing but the SVID; the label objects of a flow are shared by all its
 * reports (an hour of 5 s reports holds each flow's labels once).
 */
export class ProxyReports {
  readonly #options: ProxyReportsOptions;
  readonly #deltas: ReportDelta[] = [];
  /** Label objects by their content, shared by every kept sample with those labels. */
  #labels = new Map<string, Readonly<Record<string, string>>>();
  readonly #svids = new Map<string, ReportedSvid>();
  readonly #lastAt = new Map<string, number>();

  constructor(options: ProxyReportsOptions) {
    this.#options = options;
  }

  /** Keeps `report` of the proxy `node` (the discovery server's onReport). */
  add(node: ProxyNode, report: ProxyReport): void {
    const atMs = this.#options.now();
    this.#lastAt.set(node.id, atMs);
    if (report.svid !== undefined && report.svid.spiffeId !== "") {
      this.#svids.set(node.id, { proxyId: node.id, spiffeId: report.svid.spiffeId, serial: report.svid.serial, notBeforeMs: report.svid.notBeforeMs, notAfterMs: report.svid.notAfterMs, reportedAtMs: atMs });
    }
    const samples = reportSamples(report, this.#options.maxFlowsPerReport);
    if (samples.requests.length > 0) {
      this.#deltas.push({
        atMs,
        proxyId: node.id,
        intervalStartMs: report.intervalStartMs,
        intervalEndMs: report.intervalEndMs,
        requests: samples.requests.map((x) => this.#shared(x)),
        durationBuckets: samples.durationBuckets.map((x) => this.#shared(x)),
      });
    }
    const oldest = atMs - (this.#options.retainMs ?? 3_600_000);
    let drop = 0;
    while (drop < this.#deltas.length && (this.#deltas[drop]?.atMs ?? atMs) < oldest) drop++;
    if (drop > 0) this.#deltas.splice(0, drop);
    // Flows that stopped leave their labels behind: start over from the kept reports now and then.
    if (this.#labels.size > 50_000) {
      this.#labels = new Map();
      for (const d of this.#deltas) for (const x of [...d.requests, ...d.durationBuckets]) this.#shared(x);
    }
  }

  #shared(sample: MetricSample): MetricSample {
    const key = JSON.stringify(sample.labels);
    let labels = this.#labels.get(key);
    if (labels === undefined) {
      labels = sample.labels;
      this.#labels.set(key, labels);
    }
    return labels === sample.labels ? sample : { name: sample.name, labels, value: sample.value };
  }

  /** Traffic deltas received after `sinceMs`, oldest first. */
  deltasSince(sinceMs: number): readonly ReportDelta[] {
    let i = this.#deltas.length;
    while (i > 0 && (this.#deltas[i - 1]?.atMs ?? 0) > sinceMs) i--;
    return this.#deltas.slice(i);
  }

  /** The SVID `proxyId` last reported; undefined when it never did. */
  svidOf(proxyId: string): ReportedSvid | undefined {
    return this.#svids.get(proxyId);
  }

  /** Every SVID reported (the latest of each proxy). */
  get svids(): readonly ReportedSvid[] {
    return [...this.#svids.values()];
  }

  /** Proxies that reported at least once, and when they last did. */
  get reporters(): ReadonlyMap<string, number> {
    return this.#lastAt;
  }
}
