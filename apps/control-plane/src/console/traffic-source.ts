// Where the console's traffic comes from: by default the proxies' own reports on the discovery
// stream (ProxyReports, summed over the window; with --console-peers merged with the other
// replicas' reports, PeerReports); with --console-scrape, scrapes of the proxies'
// /stats/prometheus (kept in a short history so a window's increase is latest − the scrape at the
// window's start); with --prometheus-url, a Prometheus server's HTTP API (increase() over the
// window, query_range for the charts). All hand buildTrafficGraph the same TrafficWindow, and the
// service page's charts a TrafficWindow per step.
import { parsePrometheusText, type MetricSample } from "./prometheus-text.ts";
import { DURATION_BUCKET, REQUESTS_TOTAL, type TrafficWindow } from "./traffic-graph.ts";
import { binDeltas, sumDeltas, type TrafficDelta, type TrafficPoint } from "./traffic-history.ts";
import { mergeReportDeltas, type PeerReports } from "./peer-reports.ts";
import type { ProxyReports } from "./proxy-reports.ts";

export interface TrafficReading extends TrafficWindow {
  /** Targets or queries that failed, one sentence each (the graph still shows the rest). */
  readonly errors: readonly string[];
}

export interface TrafficSource {
  /** "scrape of 6 proxies" / "prometheus http://...". */
  describe(): string;
  read(windowSeconds: number): Promise<TrafficReading>;
  /** The window in steps of `stepSeconds` (oldest first), for the service page's charts. */
  readSeries(windowSeconds: number, stepSeconds: number): Promise<TrafficSeries>;
}

export interface TrafficSeries {
  readonly points: readonly TrafficPoint[];
  readonly errors: readonly string[];
}

/**
 * The proxies' own reports on the discovery stream (the default): a window sums the reports
 * received in it. Only proxies streaming to this replica report here; with `peers`
 * (--console-peers) the other replicas' reports are fetched and merged, each (proxy, interval)
 * once, and a peer that does not answer is an error of the reading.
 */
export function reportTrafficSource(reports: ProxyReports, now: () => number, peers?: PeerReports): TrafficSource {
  const deltasSince = (sinceMs: number): readonly TrafficDelta[] => (peers === undefined ? reports.deltasSince(sinceMs) : mergeReportDeltas(reports.deltasSince(sinceMs), peers.deltasSince(sinceMs)));
  const refresh = async (): Promise<readonly string[]> => (peers === undefined ? [] : peers.refresh());
  return {
    describe: () => {
      if (peers === undefined) return `reports of ${reports.reporters.size} proxy(ies) on the discovery stream`;
      const proxies = new Set([...reports.reporters.keys(), ...peers.reporters()]);
      return `reports of ${proxies.size} proxy(ies) on the discovery stream of this replica and ${peers.peers.length} peer(s)`;
    },
    read: async (windowSeconds) => {
      const errors = await refresh();
      return { ...sumDeltas(deltasSince(now() - windowSeconds * 1000), windowSeconds), errors: [...errors] };
    },
    readSeries: async (windowSeconds, stepSeconds) => {
      const errors = await refresh();
      const nowMs = now();
      return { points: binDeltas(deltasSince(nowMs - windowSeconds * 1000 - stepSeconds * 1000), nowMs, windowSeconds, stepSeconds), errors: [...errors] };
    },
  };
}

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

const kept = (name: string): boolean => name === REQUESTS_TOTAL || name === DURATION_BUCKET;

interface Scrape {
  readonly atMs: number;
  /** Per target: series key → sample. */
  readonly targets: ReadonlyMap<string, ReadonlyMap<string, MetricSample>>;
}

export interface ScrapeSourceOptions {
  /** The stats URLs (`http://HOST:PORT/stats/prometheus`), read at each scrape. */
  readonly targets: () => readonly string[];
  readonly fetch: Fetch;
  readonly now: () => number;
  /** Reads closer together than this reuse the last scrape (default 1000 ms). */
  readonly minIntervalMs?: number;
  /** History kept (default 1 h, the longest console window). */
  readonly retainMs?: number;
  readonly timeoutMs?: number;
}

/** The increases of every series of `latest` since `baseline` (from each proxy's start without one; a counter reset counts from 0). */
function increases(latest: Scrape, baseline: Scrape | undefined): { requests: MetricSample[]; durationBuckets: MetricSample[] } {
  const requests: MetricSample[] = [];
  const durationBuckets: MetricSample[] = [];
  for (const [url, series] of latest.targets) {
    const before = baseline?.targets.get(url);
    for (const [key, sample] of series) {
      const previous = before?.get(key)?.value ?? 0;
      const increase = sample.value >= previous ? sample.value - previous : sample.value;
      if (increase <= 0) continue;
      (sample.name === REQUESTS_TOTAL ? requests : durationBuckets).push({ ...sample, value: increase });
    }
  }
  return { requests, durationBuckets };
}

function seriesKey(sample: MetricSample): string {
  return `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

/**
 * Scrapes on demand (when the console asks, at most once per `minIntervalMs`): no timers. The
 * first read counts from each proxy's start; later ones from the scrape at the window's start, or
 * from the first scrape when the console has not been looking that long.
 */
export function scrapeTrafficSource(options: ScrapeSourceOptions): TrafficSource {
  const history: Scrape[] = [];
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const retainMs = options.retainMs ?? 3_600_000;
  let lastErrors: string[] = [];
  let inFlight: Promise<void> | undefined;
  const scrape = async (): Promise<void> => {
    const atMs = options.now();
    const targets = new Map<string, Map<string, MetricSample>>();
    const errors: string[] = [];
    await Promise.all(
      options.targets().map(async (url) => {
        try {
          const response = await options.fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 2000) });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const series = new Map<string, MetricSample>();
          for (const sample of parsePrometheusText(await response.text(), kept)) series.set(seriesKey(sample), sample);
          targets.set(url, series);
        } catch (error) {
          errors.push(`scraping ${url} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
    history.push({ atMs, targets });
    while (history.length > 2 && (history[1]?.atMs ?? atMs) < atMs - retainMs) history.shift();
    lastErrors = errors;
  };
  const fresh = async (): Promise<void> => {
    const latestAt = history.at(-1)?.atMs;
    if (latestAt === undefined || options.now() - latestAt >= minIntervalMs) {
      inFlight ??= scrape().finally(() => (inFlight = undefined));
      await inFlight;
    }
  };
  return {
    describe: () => `scrapes of ${options.targets().length} proxy stats endpoint(s)`,
    async readSeries(windowSeconds, stepSeconds) {
      await fresh();
      // Each scrape's increase since the one before, counted at the later scrape: the series has
      // points where the console looked (it scrapes on demand).
      const deltas: TrafficDelta[] = [];
      for (let i = 1; i < history.length; i++) {
        const [before, after] = [history[i - 1], history[i]];
        if (before !== undefined && after !== undefined) deltas.push({ atMs: after.atMs, proxyId: "scrape", ...increases(after, before) });
      }
      return { points: binDeltas(deltas, history.at(-1)?.atMs ?? options.now(), windowSeconds, stepSeconds), errors: lastErrors };
    },
    async read(windowSeconds) {
      await fresh();
      const latest = history.at(-1);
      if (latest === undefined) return { requests: [], durationBuckets: [], windowSeconds, errors: lastErrors };
      // The newest scrape at least a window old; failing that the oldest one (the window began before
      // the console's first look); the very first scrape counts from each proxy's start.
      const startMs = latest.atMs - windowSeconds * 1000;
      const baseline = history.length === 1 ? undefined : ([...history].reverse().find((s) => s.atMs <= startMs) ?? history[0]);
      return { ...increases(latest, baseline), windowSeconds, errors: lastErrors };
    },
  };
}

/** The labels the graph reads, kept by `sum by` so Prometheus answers with few series. */
export const GRAPH_LABELS = [
  "reporter",
  "source_workload",
  "source_workload_namespace",
  "source_app",
  "source_version",
  "source_principal",
  "destination_workload",
  "destination_workload_namespace",
  "destination_app",
  "destination_version",
  "destination_principal",
  "destination_service",
  "destination_service_name",
  "destination_service_namespace",
  "response_code",
  "connection_security_policy",
] as const;

export function graphQueries(windowSeconds: number): { readonly requests: string; readonly durationBuckets: string } {
  const by = GRAPH_LABELS.join(",");
  const range = `${Math.max(1, Math.round(windowSeconds))}s`;
  return {
    requests: `sum by (${by}) (increase(${REQUESTS_TOTAL}[${range}]))`,
    durationBuckets: `sum by (${by},le) (increase(${DURATION_BUCKET}[${range}]))`,
  };
}

interface PromMatrix {
  readonly status: string;
  readonly error?: string;
  readonly data?: { readonly resultType: string; readonly result: readonly { readonly metric: Record<string, string>; readonly values: readonly (readonly [number, string])[] }[] };
}

interface PromVector {
  readonly status: string;
  readonly error?: string;
  readonly data?: { readonly resultType: string; readonly result: readonly { readonly metric: Record<string, string>; readonly value: readonly [number, string] }[] };
}

/** Reads the window from a Prometheus server's HTTP API (`/api/v1/query`). */
export function prometheusTrafficSource(options: { readonly url: string; readonly fetch: Fetch; readonly timeoutMs?: number; readonly now?: () => number }): TrafficSource {
  const base = options.url.replace(/\/+$/, "");
  const query = async (name: string, promql: string): Promise<MetricSample[]> => {
    const response = await options.fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
    const body = (await response.json()) as PromVector;
    if (body.status !== "success" || body.data === undefined) throw new Error(`Prometheus ${base} answered ${response.status}: ${body.error ?? "no data"}`);
    return body.data.result.map((r) => ({ name, labels: r.metric, value: Number(r.value[1]) }));
  };
  const queryRange = async (name: string, promql: string, startS: number, endS: number, stepS: number): Promise<TrafficDelta[]> => {
    const url = `${base}/api/v1/query_range?query=${encodeURIComponent(promql)}&start=${startS}&end=${endS}&step=${stepS}`;
    const response = await options.fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
    const body = (await response.json()) as PromMatrix;
    if (body.status !== "success" || body.data === undefined) throw new Error(`Prometheus ${base} answered ${response.status}: ${body.error ?? "no data"}`);
    const deltas: TrafficDelta[] = [];
    for (const r of body.data.result)
      for (const [t, v] of r.values) {
        const value = Number(v);
        if (value > 0) deltas.push({ atMs: t * 1000, proxyId: "prometheus", requests: name === REQUESTS_TOTAL ? [{ name, labels: r.metric, value }] : [], durationBuckets: name === DURATION_BUCKET ? [{ name, labels: r.metric, value }] : [] });
      }
    return deltas;
  };
  return {
    describe: () => `Prometheus at ${base}`,
    async readSeries(windowSeconds, stepSeconds) {
      const q = graphQueries(stepSeconds);
      const endS = Math.floor((options.now?.() ?? Date.now()) / 1000);
      const startS = endS - windowSeconds + stepSeconds;
      const errors: string[] = [];
      const parts = await Promise.all(
        [
          [REQUESTS_TOTAL, q.requests],
          [DURATION_BUCKET, q.durationBuckets],
        ].map(([name = "", promql = ""]) =>
          queryRange(name, promql, startS, endS, stepSeconds).catch((error: unknown) => {
            errors.push(`querying ${base} failed: ${error instanceof Error ? error.message : String(error)}`);
            return [];
          }),
        ),
      );
      // Prometheus evaluates increase(...[step]) at each step's end: bin by that instant.
      return { points: binDeltas(parts.flat(), endS * 1000, windowSeconds, stepSeconds), errors };
    },
    async read(windowSeconds) {
      const q = graphQueries(windowSeconds);
      const errors: string[] = [];
      const [requests, durationBuckets] = await Promise.all(
        [
          [REQUESTS_TOTAL, q.requests],
          [DURATION_BUCKET, q.durationBuckets],
        ].map(([name = "", promql = ""]) =>
          query(name, promql).catch((error: unknown) => {
            errors.push(`querying ${base} failed: ${error instanceof Error ? error.message : String(error)}`);
            return [];
          }),
        ),
      );
      return { requests: requests ?? [], durationBuckets: durationBuckets ?? [], windowSeconds, errors };
    },
  };
}
