// Istio's standard metrics (istio_requests_total, istio_request_duration_milliseconds, ...,
// istio_tcp_*) with Istio's labels, so existing Grafana/Kiali dashboards work (DESIGN.md §3.5).
// Label work happens when config binds a peer; recording a request in the steady state is a
// cache hit on a number and a few additions (DESIGN.md §3.6). Telemetry metric overrides
// (disabled metrics, removed or set labels) are applied when the registry is scraped, so they cost
// the data path nothing.
import { istioMetricLabels } from "@meshwork/config/telemetry-providers";
import type { MetricOverride, ReportedMetric } from "@meshwork/proxy-core";
import { Registry } from "./prom-client-core.ts";
import { createProxyStats, type ProxyStats } from "./proxy-stats.ts";
import {
  bucketIndex,
  pushHistogramValues,
  registerCollectedMetric,
  type CollectedValue,
} from "./register-collected-metric.ts";
import { ALL_RESPONSE_FLAGS, formatResponseFlags, type ResponseFlagSet } from "./response-flags.ts";

/**
 * Envoy's default histogram buckets, which Istio uses for every standard histogram: durations in
 * ms and, unchanged, request/response sizes in bytes (Istio emits `istio_request_bytes_bucket`
 * with `le="0.5"` ... `le="3.6e+06"`; `sidecar.istio.io/statsHistogramBuckets` overrides them).
 */
export const ISTIO_DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
]);

/** Who reports: the client-side proxy (`source`, outbound) or the server-side one (`destination`, inbound). */
export type Reporter = "source" | "destination";

/** `request_protocol` of HTTP metrics (HTTP/1.1 and HTTP/2 are both `http`); TCP metrics use `tcp`. */
export type RequestProtocol = "http" | "grpc";

/** `connection_security_policy`: `mutual_tls` or `none` on the destination side, `unknown` on the source side. */
export type ConnectionSecurityPolicy = "mutual_tls" | "none" | "unknown";

/** The labels of one workload (either end of a request). Missing values become Istio's `unknown`. */
export interface PeerLabels {
  /** `*_workload`, e.g. `reviews-v1`. */
  workload?: string;
  /** `*_workload_namespace`. */
  namespace?: string;
  /** `*_principal`, a SPIFFE ID (`spiffe://cluster.local/ns/default/sa/reviews`). */
  principal?: string;
  /** `*_app` (the `app` label). */
  app?: string;
  /** `*_version` (the `version` label). */
  version?: string;
  /** `*_cluster`: the mesh cluster id (`Kubernetes` in a default Istio). */
  cluster?: string;
  /** `*_canonical_service`; defaults to `app`, then `workload` (as Istio derives it). */
  canonicalService?: string;
  /** `*_canonical_revision`; defaults to `version`, then `latest`. */
  canonicalRevision?: string;
}

/** The destination service of a request: `destination_service{,_name,_namespace}`. */
export interface ServiceLabels {
  /** The host, e.g. `reviews.default.svc.cluster.local`. */
  host?: string;
  name?: string;
  namespace?: string;
}

/** What a MetricPeer is bound to, once per (cluster or route, peer) when config arrives. */
export interface PeerBinding {
  /** The workload at the other end: the destination for reporter `source`, the source for `destination`. */
  peer: PeerLabels;
  /** The service the request is addressed to (for reporter `destination`: the local service). */
  service?: ServiceLabels;
  /** Defaults to `unknown` for reporter `source` and `none` for `destination`. */
  securityPolicy?: ConnectionSecurityPolicy;
}

/**
 * The recorder of one (cluster/route, peer) binding. Get it with `IstioMetrics.peer()` at config
 * time and keep it in the route or cluster object; its methods never throw and, once a
 * (protocol, code, grpc status, flags) combination has been seen, allocate nothing.
 */
export interface MetricPeer {
  /**
   * Records one finished HTTP request. Positional on purpose: an options object would be an
   * allocation per request on the hot path.
   * @param protocol `http` (HTTP/1.1, HTTP/2) or `grpc`
   * @param responseCode HTTP status sent downstream; 0 if none was sent (Envoy's convention)
   * @param grpcStatus gRPC status (0..16) from the trailers, or -1 when there is none
   * @param responseFlags an OR of `RESPONSE_FLAGS` bits, 0 for none
   * @param durationMs from the first request byte received to the last response byte sent
   * @param requestBytes request bytes received (headers + body, as Istio counts `request.total_size`)
   * @param responseBytes response bytes sent (headers + body)
   */
  recordRequest(
    protocol: RequestProtocol,
    responseCode: number,
    grpcStatus: number,
    responseFlags: ResponseFlagSet,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
  ): void;
  /** A TCP connection (a raw TCP proxy connection, not an HTTP one) was opened. */
  recordTcpOpened(responseFlags: ResponseFlagSet): void;
  /** A TCP connection closed; call `recordTcpBytes` for its last bytes first. */
  recordTcpClosed(responseFlags: ResponseFlagSet): void;
  /**
   * Bytes moved since the last call, as Istio counts them: `sentBytes` in the response direction
   * (server → client, `istio_tcp_sent_bytes_total`), `receivedBytes` in the request direction.
   */
  recordTcpBytes(sentBytes: number, receivedBytes: number, responseFlags: ResponseFlagSet): void;
}

export interface IstioMetricsOptions {
  reporter: Reporter;
  /** This proxy's own workload: the source for reporter `source`, the destination for `destination`. */
  self: PeerLabels;
  /** Defaults to a new Registry. */
  registry?: Registry;
  /** Buckets of the three histograms; defaults to `ISTIO_DEFAULT_BUCKETS`. */
  buckets?: readonly number[];
}

export interface IstioMetrics {
  readonly registry: Registry;
  readonly reporter: Reporter;
  /**
   * The recorder for a binding. Bindings with equal labels share one recorder, so rebuilding
   * config does not duplicate series. Config-time only: this builds label strings.
   */
  peer(binding: PeerBinding): MetricPeer;
  /** Envoy-style proxy counters and gauges per cluster (`envoy_cluster_upstream_rq_retry`, ...). */
  readonly proxyStats: ProxyStats;
  /**
   * Telemetry metric overrides of this reporter's side (CLIENT for `source`, SERVER for
   * `destination`), applied from the next scrape: a disabled metric's series are left out, a
   * REMOVEd label is dropped and the series that then share their labels are summed, an UPSERTed
   * label is set to its value. Recording is unchanged, so re-enabling shows the full counts.
   */
  setOverrides(overrides: MetricOverrides): void;
}

/** Telemetry's changes to the standard metrics of one side, by metric. */
export type MetricOverrides = Readonly<Partial<Record<ReportedMetric, MetricOverride>>>;

const UNKNOWN = "unknown";

/** Istio's label names, in the order Istio's stats filter emits them. */
export const ISTIO_HTTP_LABELS = istioMetricLabels;

/** TCP metrics have the same labels but no `response_code` or `grpc_response_status`. */
export const ISTIO_TCP_LABELS = ISTIO_HTTP_LABELS.filter(
  (l) => l !== "response_code" && l !== "grpc_response_status",
);

function orUnknown(value: string | undefined): string {
  return value === undefined || value === "" ? UNKNOWN : value;
}

function workloadLabels(prefix: "source" | "destination", w: PeerLabels): Record<string, string> {
  return {
    [`${prefix}_workload`]: orUnknown(w.workload),
    [`${prefix}_canonical_service`]: orUnknown(w.canonicalService ?? w.app ?? w.workload),
    [`${prefix}_canonical_revision`]: w.canonicalRevision ?? w.version ?? "latest",
    [`${prefix}_workload_namespace`]: orUnknown(w.namespace),
    [`${prefix}_principal`]: orUnknown(w.principal),
    [`${prefix}_app`]: orUnknown(w.app),
    [`${prefix}_version`]: orUnknown(w.version),
    [`${prefix}_cluster`]: orUnknown(w.cluster),
  };
}

/** Builds the labels shared by every series of a binding, keyed in ISTIO_HTTP_LABELS order. */
function bindingLabels(reporter: Reporter, self: PeerLabels, binding: PeerBinding): Record<string, string> {
  const source = reporter === "source" ? self : binding.peer;
  const destination = reporter === "source" ? binding.peer : self;
  const all: Record<string, string> = {
    reporter,
    ...workloadLabels("source", source),
    ...workloadLabels("destination", destination),
    destination_service: orUnknown(binding.service?.host),
    destination_service_name: orUnknown(binding.service?.name),
    destination_service_namespace: orUnknown(binding.service?.namespace),
    connection_security_policy: binding.securityPolicy ?? (reporter === "source" ? UNKNOWN : "none"),
  };
  const ordered: Record<string, string> = {};
  for (const name of ISTIO_HTTP_LABELS) {
    const value = all[name];
    if (value !== undefined) ordered[name] = value;
  }
  return ordered;
}

/** The labels of one series: the binding's with the per-request ones filled in, in Istio's order. */
function seriesLabels(
  base: Record<string, string>,
  names: readonly string[],
  extra: Record<string, string>,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const name of names) {
    const value = extra[name] ?? base[name];
    if (value !== undefined) labels[name] = value;
  }
  return labels;
}

/** One HTTP series: the counter and the three histograms share the labels and the count. */
class RequestSeries {
  readonly labels: Record<string, string>;
  count = 0;
  durationSum = 0;
  requestBytesSum = 0;
  responseBytesSum = 0;
  /** Three histograms back to back: duration, request bytes, response bytes; (buckets + 1) each. */
  readonly counts: Float64Array;
  constructor(labels: Record<string, string>, slots: number) {
    this.labels = labels;
    this.counts = new Float64Array(slots * 3);
  }
}

class TcpSeries {
  readonly labels: Record<string, string>;
  opened = 0;
  closed = 0;
  sent = 0;
  received = 0;
  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }
}

const GRPC_STATUS_TEXT = Array.from({ length: 17 }, (_, i) => String(i));
const RESPONSE_CODE_TEXT: string[] = Array.from({ length: 1000 }, (_, i) => String(i));

class BoundPeer implements MetricPeer {
  readonly requests: RequestSeries[] = [];
  readonly tcp: TcpSeries[] = [];
  readonly #base: Record<string, string>;
  readonly #bounds: Float64Array;
  readonly #slots: number;
  readonly #byKey = new Map<number, RequestSeries>();
  readonly #byKeyFlagged = new Map<number, Map<number, RequestSeries>>();
  readonly #tcpByFlags = new Map<number, TcpSeries>();
  #lastKey = -1;
  #lastFlags = -1;
  #last: RequestSeries | undefined;
  #lastTcpFlags = -1;
  #lastTcp: TcpSeries | undefined;

  constructor(base: Record<string, string>, bounds: Float64Array) {
    this.#base = base;
    this.#bounds = bounds;
    this.#slots = bounds.length + 1;
  }

  recordRequest(
    protocol: RequestProtocol,
    responseCode: number,
    grpcStatus: number,
    responseFlags: ResponseFlagSet,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
  ): void {
    // Out-of-range inputs are recorded, not thrown: a data-path error must not escape as an exception.
    const code = responseCode >= 0 && responseCode <= 999 ? responseCode | 0 : 0;
    const grpc = grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus | 0 : grpcStatus === -1 ? -1 : 2;
    const flags = responseFlags & ALL_RESPONSE_FLAGS;
    // A small integer: (protocol, grpc status, code). Flags are looked up separately since they
    // are usually 0 and a combined key would not stay a small integer.
    const key = ((protocol === "grpc" ? 18 : 0) + grpc + 1) * 1000 + code;
    let series = this.#last;
    if (key !== this.#lastKey || flags !== this.#lastFlags || series === undefined) {
      series = this.#find(protocol, code, grpc, flags, key);
      this.#lastKey = key;
      this.#lastFlags = flags;
      this.#last = series;
    }
    const slots = this.#slots;
    const counts = series.counts;
    const bounds = this.#bounds;
    series.count++;
    series.durationSum += durationMs;
    series.requestBytesSum += requestBytes;
    series.responseBytesSum += responseBytes;
    // Indexes are in range by construction (bucketIndex <= bounds.length < slots).
    let i = bucketIndex(bounds, durationMs);
    counts[i] = (counts[i] as number) + 1;
    i = slots + bucketIndex(bounds, requestBytes);
    counts[i] = (counts[i] as number) + 1;
    i = 2 * slots + bucketIndex(bounds, responseBytes);
    counts[i] = (counts[i] as number) + 1;
  }

  #find(protocol: RequestProtocol, code: number, grpc: number, flags: number, key: number): RequestSeries {
    let table = this.#byKey;
    if (flags !== 0) {
      let flagged = this.#byKeyFlagged.get(flags);
      if (flagged === undefined) {
        flagged = new Map();
        this.#byKeyFlagged.set(flags, flagged);
      }
      table = flagged;
    }
    let series = table.get(key);
    if (series === undefined) {
      const labels = seriesLabels(this.#base, ISTIO_HTTP_LABELS, {
        request_protocol: protocol,
        response_code: RESPONSE_CODE_TEXT[code] ?? "0",
        grpc_response_status: grpc === -1 ? "" : (GRPC_STATUS_TEXT[grpc] ?? "2"),
        response_flags: formatResponseFlags(flags),
      });
      series = new RequestSeries(labels, this.#slots);
      table.set(key, series);
      this.requests.push(series);
    }
    return series;
  }

  #tcpSeries(responseFlags: ResponseFlagSet): TcpSeries {
    const flags = responseFlags & ALL_RESPONSE_FLAGS;
    if (flags === this.#lastTcpFlags && this.#lastTcp !== undefined) return this.#lastTcp;
    let series = this.#tcpByFlags.get(flags);
    if (series === undefined) {
      const labels = seriesLabels(this.#base, ISTIO_TCP_LABELS, {
        request_protocol: "tcp",
        response_flags: formatResponseFlags(flags),
      });
      series = new TcpSeries(labels);
      this.#tcpByFlags.set(flags, series);
      this.tcp.push(series);
    }
    this.#lastTcpFlags = flags;
    this.#lastTcp = series;
    return series;
  }

  recordTcpOpened(responseFlags: ResponseFlagSet): void {
    this.#tcpSeries(responseFlags).opened++;
  }

  recordTcpClosed(responseFlags: ResponseFlagSet): void {
    this.#tcpSeries(responseFlags).closed++;
  }

  recordTcpBytes(sentBytes: number, receivedBytes: number, responseFlags: ResponseFlagSet): void {
    const series = this.#tcpSeries(responseFlags);
    series.sent += sentBytes;
    series.received += receivedBytes;
  }

  reset(): void {
    for (const s of this.requests) {
      s.count = 0;
      s.durationSum = 0;
      s.requestBytesSum = 0;
      s.responseBytesSum = 0;
      s.counts.fill(0);
    }
    for (const s of this.tcp) {
      s.opened = 0;
      s.closed = 0;
      s.sent = 0;
      s.received = 0;
    }
  }
}

function validateBuckets(buckets: readonly number[]): Float64Array {
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as number;
    if (!Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number))) {
      throw new RangeError(
        `createIstioMetrics: buckets[${i}] = ${b} must be finite and greater than the bucket before it; pass increasing bounds such as ISTIO_DEFAULT_BUCKETS`,
      );
    }
  }
  return Float64Array.from(buckets);
}

/**
 * Creates Istio's standard metrics on a prom-client Registry, plus the proxy's own
 * Envoy-style counters (`proxyStats`). Call once per proxy (per reporter: a sidecar that is both
 * client and server creates one for `source` and one for `destination` on the same registry).
 */
export function createIstioMetrics(options: IstioMetricsOptions): IstioMetrics {
  const registry = options.registry ?? new Registry();
  const bounds = validateBuckets(options.buckets ?? ISTIO_DEFAULT_BUCKETS);
  const boundList = Array.from(bounds);
  const slots = bounds.length + 1;
  const peers = new Map<string, BoundPeer>();
  const reporter = options.reporter;

  const source: ReporterSource = {
    requests: (visit) => {
      for (const p of peers.values()) for (const s of p.requests) visit(s);
    },
    tcp: (visit) => {
      for (const p of peers.values()) for (const s of p.tcp) visit(s);
    },
    overrides: {},
  };
  const resetAll = (): void => {
    for (const p of peers.values()) p.reset();
  };

  // With two reporters on one registry, the second instance adds its series to the first's metrics.
  const shared = sharedCollectors.get(registry) ?? createSharedCollectors(registry);
  if (shared.slots !== undefined && shared.bounds.join() !== boundList.join()) {
    throw new RangeError(
      `createIstioMetrics: this registry already has Istio metrics with buckets [${shared.bounds.join(", ")}]; give both reporters the same buckets`,
    );
  }
  shared.sources.push(source);
  shared.resets.push(resetAll);
  shared.slots = slots;
  shared.bounds = boundList;

  return {
    registry,
    reporter,
    proxyStats: shared.proxyStats,
    setOverrides(overrides) {
      source.overrides = overrides;
    },
    peer(binding: PeerBinding): MetricPeer {
      const base = bindingLabels(reporter, options.self, binding);
      const id = JSON.stringify(base);
      let peer = peers.get(id);
      if (peer === undefined) {
        peer = new BoundPeer(base, bounds);
        peers.set(id, peer);
      }
      return peer;
    },
  };
}

/** One reporter's series and its Telemetry overrides, as the shared collectors read them. */
interface ReporterSource {
  requests(visit: (s: RequestSeries) => void): void;
  tcp(visit: (s: TcpSeries) => void): void;
  overrides: MetricOverrides;
}

/** Series that are scraped as one: their labels after the overrides, and the recorded series summed into it. */
interface ScrapedSeries<S> {
  readonly labels: Record<string, string>;
  readonly members: S[];
}

/** `labels` with a Telemetry's tag changes: REMOVE drops a label, UPSERT sets (or appends) it. */
function relabel(labels: Record<string, string>, tags: MetricOverride["tags"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    const change = tags[name];
    if (change === undefined) out[name] = value;
    else if (change.operation === "UPSERT") out[name] = change.value;
  }
  for (const [name, change] of Object.entries(tags)) if (change.operation === "UPSERT" && !(name in out)) out[name] = change.value;
  return out;
}

/**
 * The series of `metric` as a scrape shows them: every reporter's, without those whose Telemetry
 * disables the metric, relabelled by its tag overrides; series whose labels become equal (a label
 * removed) are one series, their values summed (what Envoy's stats would hold had the label never
 * been recorded).
 */
function scrapedSeries<S extends { readonly labels: Record<string, string> }>(
  sources: readonly ReporterSource[],
  metric: ReportedMetric,
  each: (source: ReporterSource, visit: (s: S) => void) => void,
): ScrapedSeries<S>[] {
  const out: ScrapedSeries<S>[] = [];
  const byLabels = new Map<string, ScrapedSeries<S>>();
  for (const source of sources) {
    const override = source.overrides[metric];
    if (override?.disabled === true) continue;
    const tags = override?.tags;
    if (tags === undefined || Object.keys(tags).length === 0) {
      each(source, (s) => out.push({ labels: s.labels, members: [s] }));
      continue;
    }
    each(source, (s) => {
      const labels = relabel(s.labels, tags);
      const key = JSON.stringify(labels);
      const existing = byLabels.get(key);
      if (existing) existing.members.push(s);
      else {
        const group = { labels, members: [s] };
        byLabels.set(key, group);
        out.push(group);
      }
    });
  }
  return out;
}

function sum<S>(members: readonly S[], value: (s: S) => number): number {
  let total = 0;
  for (const s of members) total += value(s);
  return total;
}

interface SharedCollectors {
  sources: ReporterSource[];
  resets: (() => void)[];
  slots: number | undefined;
  bounds: number[];
  proxyStats: ProxyStats;
}

const sharedCollectors = new WeakMap<Registry, SharedCollectors>();

function createSharedCollectors(registry: Registry): SharedCollectors {
  const shared: SharedCollectors = {
    sources: [],
    resets: [],
    slots: undefined,
    bounds: [],
    proxyStats: createProxyStats(registry),
  };
  sharedCollectors.set(registry, shared);
  const requests = (metric: ReportedMetric): ScrapedSeries<RequestSeries>[] => scrapedSeries<RequestSeries>(shared.sources, metric, (source, visit) => source.requests(visit));
  const tcp = (metric: ReportedMetric): ScrapedSeries<TcpSeries>[] => scrapedSeries<TcpSeries>(shared.sources, metric, (source, visit) => source.tcp(visit));
  const reset = (): void => {
    for (const r of shared.resets) r();
  };

  registerCollectedMetric(registry, {
    name: "istio_requests_total",
    help: "Total number of requests handled by an Istio proxy.",
    type: "counter",
    collect: () => requests("REQUEST_COUNT").map((s) => ({ labels: s.labels, value: sum(s.members, (m) => m.count) })),
    reset,
  });
  const histograms = [
    ["istio_request_duration_milliseconds", "Duration of requests in milliseconds.", 0, "durationSum", "REQUEST_DURATION"],
    ["istio_request_bytes", "Size of HTTP request bodies and headers in bytes.", 1, "requestBytesSum", "REQUEST_SIZE"],
    ["istio_response_bytes", "Size of HTTP response bodies and headers in bytes.", 2, "responseBytesSum", "RESPONSE_SIZE"],
  ] as const;
  for (const [name, help, index, sumField, metric] of histograms) {
    registerCollectedMetric(registry, {
      name,
      help,
      type: "histogram",
      collect: () => {
        const out: CollectedValue[] = [];
        const slots = shared.slots ?? 0;
        for (const s of requests(metric)) {
          const [first] = s.members;
          if (first === undefined) continue;
          if (s.members.length === 1) {
            pushHistogramValues(out, name, s.labels, shared.bounds, first.counts, index * slots, first[sumField]);
            continue;
          }
          const counts = new Float64Array(slots);
          for (const m of s.members) for (let i = 0; i < slots; i++) counts[i] = (counts[i] as number) + (m.counts[index * slots + i] as number);
          pushHistogramValues(out, name, s.labels, shared.bounds, counts, 0, sum(s.members, (m) => m[sumField]));
        }
        return out;
      },
      reset: () => undefined, // istio_requests_total's reset zeroes the shared series
    });
  }
  const tcpCounters = [
    ["istio_tcp_sent_bytes_total", "Total bytes sent during a TCP connection.", "sent", "TCP_SENT_BYTES"],
    ["istio_tcp_received_bytes_total", "Total bytes received during a TCP connection.", "received", "TCP_RECEIVED_BYTES"],
    ["istio_tcp_connections_opened_total", "Total TCP connections opened.", "opened", "TCP_OPENED_CONNECTIONS"],
    ["istio_tcp_connections_closed_total", "Total TCP connections closed.", "closed", "TCP_CLOSED_CONNECTIONS"],
  ] as const;
  for (const [name, help, field, metric] of tcpCounters) {
    registerCollectedMetric(registry, {
      name,
      help,
      type: "counter",
      collect: () => tcp(metric).map((s) => ({ labels: s.labels, value: sum(s.members, (m) => m[field]) })),
      reset: () => undefined, // istio_requests_total's reset zeroes every series
    });
  }
  return shared;
}
