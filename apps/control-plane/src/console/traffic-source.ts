// Where the console's traffic comes from: scrapes of the proxies' /stats/prometheus (kept in a
// short history so a window's increase is latest − the scrape at the window's start), or a
// Prometheus server's HTTP API (increase() over the window). Both hand buildTrafficGraph the same
// TrafficWindow.
import { parsePrometheusText, type MetricSample } from "./prometheus-text.ts";
import { DURATION_BUCKET, REQUESTS_TOTAL, type TrafficWindow } from "./traffic-graph.ts";

export interface TrafficReading extends TrafficWindow {
  /** Targets or queries that failed, one sentence each (the graph still shows the rest). */
  readonly errors: readonly string[];
}

export interface TrafficSource {
  /** "scrape of 6 proxies" / "prometheus http://...". */
  describe(): string;
  read(windowSeconds: number): Promise<TrafficReading>;
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
  return {
    describe: () => `scrapes of ${options.targets().length} proxy stats endpoint(s)`,
    async read(windowSeconds) {
      const latestAt = history.at(-1)?.atMs;
      if (latestAt === undefined || options.now() - latestAt >= minIntervalMs) {
        inFlight ??= scrape().finally(() => (inFlight = undefined));
        await inFlight;
      }
      const latest = history.at(-1);
      if (latest === undefined) return { requests: [], durationBuckets: [], windowSeconds, errors: lastErrors };
      // The newest scrape at least a window old; failing that the oldest one (the window began before
      // the console's first look); the very first scrape counts from each proxy's start.
      const startMs = latest.atMs - windowSeconds * 1000;
      const baseline = history.length === 1 ? undefined : ([...history].reverse().find((s) => s.atMs <= startMs) ?? history[0]);
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
      return { requests, durationBuckets, windowSeconds, errors: lastErrors };
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

interface PromVector {
  readonly status: string;
  readonly error?: string;
  readonly data?: { readonly resultType: string; readonly result: readonly { readonly metric: Record<string, string>; readonly value: readonly [number, string] }[] };
}

/** Reads the window from a Prometheus server's HTTP API (`/api/v1/query`). */
export function prometheusTrafficSource(options: { readonly url: string; readonly fetch: Fetch; readonly timeoutMs?: number }): TrafficSource {
  const base = options.url.replace(/\/+$/, "");
  const query = async (name: string, promql: string): Promise<MetricSample[]> => {
    const response = await options.fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
    const body = (await response.json()) as PromVector;
    if (body.status !== "success" || body.data === undefined) throw new Error(`Prometheus ${base} answered ${response.status}: ${body.error ?? "no data"}`);
    return body.data.result.map((r) => ({ name, labels: r.metric, value: Number(r.value[1]) }));
  };
  return {
    describe: () => `Prometheus at ${base}`,
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
