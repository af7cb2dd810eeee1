// The console across control-plane replicas. A proxy reports only to the replica it streams from,
// so each replica serves what its own proxies reported (GET /console/api/reports?sinceMs=, as
// encodeReports writes it) and, with --console-peers, fetches the other replicas' (PeerReports)
// and merges them with its own (mergeReportDeltas). A report two replicas hold — the same proxy
// and interval — counts once. Fetched when the console asks (at most once a second), never on a
// timer; each peer incrementally, from the last answer it gave.
import type { MetricSample } from "./prometheus-text.ts";
import { reportKey, type ReportDelta, type ReportedSvid } from "./proxy-reports.ts";
import { DURATION_BUCKET, REQUESTS_TOTAL } from "./traffic-graph.ts";

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** A proxy streaming to a replica (what the identities page lists). */
export interface ReportedProxy {
  readonly proxy: string;
  readonly workload: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The replica's id (--id). */
  readonly controlPlane: string;
  readonly connectedAtMs: number;
}

/** One report in the API: samples as [index into `labels`, value]. */
export interface EncodedDelta {
  readonly proxy: string;
  readonly atMs: number;
  readonly intervalStartMs: number;
  readonly intervalEndMs: number;
  readonly requests: readonly (readonly [number, number])[];
  readonly durationBuckets: readonly (readonly [number, number])[];
}

/** The JSON of GET /console/api/reports: one replica's own reports, never what it fetched from peers. */
export interface ReportsBody {
  readonly controlPlane: string;
  /** The replica's clock when it answered (the next fetch asks from here). */
  readonly nowMs: number;
  readonly sinceMs: number;
  /** Label sets of the samples (each once, however many reports carry it). */
  readonly labels: readonly Readonly<Record<string, string>>[];
  /** Reports received after sinceMs, oldest first; atMs in the replica's clock. */
  readonly deltas: readonly EncodedDelta[];
  /** The latest SVID each proxy reported to this replica. */
  readonly svids: readonly ReportedSvid[];
  /** Proxies streaming to this replica now. */
  readonly proxies: readonly ReportedProxy[];
  /** Proxies that ever reported to this replica. */
  readonly reporters: readonly string[];
}

export function encodeReports(input: Omit<ReportsBody, "labels" | "deltas"> & { readonly deltas: readonly ReportDelta[] }): ReportsBody {
  const labels: Readonly<Record<string, string>>[] = [];
  // Reports share label objects: keyed by identity first, by content when they do not.
  const byObject = new Map<object, number>();
  const byContent = new Map<string, number>();
  const index = (sample: MetricSample): readonly [number, number] => {
    let i = byObject.get(sample.labels);
    if (i === undefined) {
      const key = JSON.stringify(sample.labels);
      i = byContent.get(key);
      if (i === undefined) {
        i = labels.push(sample.labels) - 1;
        byContent.set(key, i);
      }
      byObject.set(sample.labels, i);
    }
    return [i, sample.value];
  };
  const deltas = input.deltas.map((d) => ({ proxy: d.proxyId, atMs: d.atMs, intervalStartMs: d.intervalStartMs, intervalEndMs: d.intervalEndMs, requests: d.requests.map(index), durationBuckets: d.durationBuckets.map(index) }));
  return { controlPlane: input.controlPlane, nowMs: input.nowMs, sinceMs: input.sinceMs, labels, deltas, svids: input.svids, proxies: input.proxies, reporters: input.reporters };
}

export interface DecodedReports {
  readonly controlPlane: string;
  readonly nowMs: number;
  readonly deltas: readonly ReportDelta[];
  readonly svids: readonly ReportedSvid[];
  readonly proxies: readonly ReportedProxy[];
  readonly reporters: readonly string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === "string";

/**
 * A peer's answer back into reports; `intern` shares label objects with earlier answers. Throws,
 * naming the field, when the answer is not a reports body (another program on that port, or
 * another version).
 */
export function decodeReports(body: unknown, intern: (labels: Readonly<Record<string, string>>) => Readonly<Record<string, string>> = (l) => l): DecodedReports {
  const bad = (field: string): Error => new Error(`its answer is not a /console/api/reports body (${field}); is it a Meshwork control plane's admin URL?`);
  if (!isRecord(body)) throw bad("not an object");
  const { controlPlane, nowMs, labels, deltas, svids, proxies, reporters } = body;
  if (!isString(controlPlane)) throw bad("controlPlane");
  if (!isNumber(nowMs)) throw bad("nowMs");
  if (!Array.isArray(labels) || !Array.isArray(deltas) || !Array.isArray(svids) || !Array.isArray(proxies) || !Array.isArray(reporters)) throw bad("labels, deltas, svids, proxies or reporters");
  const table = labels.map((l, i) => {
    if (!isRecord(l) || !Object.values(l).every(isString)) throw bad(`labels[${i}]`);
    return intern(l as Record<string, string>);
  });
  const samples = (name: string, list: unknown, where: string): MetricSample[] => {
    if (!Array.isArray(list)) throw bad(where);
    return list.map((pair, j) => {
      const labelSet = Array.isArray(pair) && isNumber(pair[0]) ? table[pair[0]] : undefined;
      if (labelSet === undefined || !Array.isArray(pair) || !isNumber(pair[1])) throw bad(`${where}[${j}]`);
      return { name, labels: labelSet, value: pair[1] };
    });
  };
  return {
    controlPlane,
    nowMs,
    deltas: deltas.map((d: unknown, i): ReportDelta => {
      if (!isRecord(d) || !isString(d["proxy"]) || !isNumber(d["atMs"]) || !isNumber(d["intervalStartMs"]) || !isNumber(d["intervalEndMs"])) throw bad(`deltas[${i}]`);
      return {
        proxyId: d["proxy"],
        atMs: d["atMs"],
        intervalStartMs: d["intervalStartMs"],
        intervalEndMs: d["intervalEndMs"],
        requests: samples(REQUESTS_TOTAL, d["requests"], `deltas[${i}].requests`),
        durationBuckets: samples(DURATION_BUCKET, d["durationBuckets"], `deltas[${i}].durationBuckets`),
      };
    }),
    svids: svids.map((s: unknown, i): ReportedSvid => {
      if (!isRecord(s) || !isString(s["proxyId"]) || !isString(s["spiffeId"]) || !isString(s["serial"]) || !isNumber(s["notBeforeMs"]) || !isNumber(s["notAfterMs"]) || !isNumber(s["reportedAtMs"])) throw bad(`svids[${i}]`);
      return { proxyId: s["proxyId"], spiffeId: s["spiffeId"], serial: s["serial"], notBeforeMs: s["notBeforeMs"], notAfterMs: s["notAfterMs"], reportedAtMs: s["reportedAtMs"] };
    }),
    proxies: proxies.map((p: unknown, i): ReportedProxy => {
      if (!isRecord(p) || !isString(p["proxy"]) || !isString(p["workload"]) || !isString(p["namespace"]) || !isString(p["serviceAccount"]) || !isString(p["controlPlane"]) || !isNumber(p["connectedAtMs"])) throw bad(`proxies[${i}]`);
      return { proxy: p["proxy"], workload: p["workload"], namespace: p["namespace"], serviceAccount: p["serviceAccount"], controlPlane: p["controlPlane"], connectedAtMs: p["connectedAtMs"] };
    }),
    reporters: reporters.filter(isString),
  };
}

/** The reports of several replicas as one history, oldest first: a report (proxy, interval) two hold counts once (the first list's). */
export function mergeReportDeltas(...lists: readonly (readonly ReportDelta[])[]): ReportDelta[] {
  const seen = new Set<string>();
  const out: ReportDelta[] = [];
  for (const list of lists)
    for (const d of list) {
      const key = reportKey(d);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(d);
    }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** The SVIDs of several replicas: per proxy the one reported last. */
export function latestSvids(...lists: readonly (readonly ReportedSvid[])[]): Map<string, ReportedSvid> {
  const out = new Map<string, ReportedSvid>();
  for (const list of lists)
    for (const s of list) {
      const held = out.get(s.proxyId);
      if (held === undefined || s.reportedAtMs > held.reportedAtMs) out.set(s.proxyId, s);
    }
  return out;
}

export interface PeerReportsOptions {
  /** The other replicas' admin base URLs (http://HOST:PORT); listing this replica too is harmless. */
  readonly peers: readonly string[];
  /** Sent as ?token= (replicas share --console-token). */
  readonly token?: string | undefined;
  readonly fetch: Fetch;
  readonly now: () => number;
  /** A peer that has not answered within this is reported as an error (default 2000 ms). */
  readonly timeoutMs?: number;
  /** History kept (default 1 h, the longest console window). */
  readonly retainMs?: number;
  /** Reads closer together than this reuse the last fetch (default 1000 ms). */
  readonly minIntervalMs?: number;
}

/** What one peer sent so far, on this replica's clock. */
interface PeerState {
  readonly base: string;
  /** The peer's clock at its last answer; undefined before the first. */
  cursorMs: number | undefined;
  deltas: ReportDelta[];
  keys: Set<string>;
  svids: ReportedSvid[];
  proxies: readonly ReportedProxy[];
  reporters: readonly string[];
}

/** Asked again from a little before the peer's last answer: a report received in that same millisecond is not missed (the overlap is deduplicated). */
const OVERLAP_MS = 5_000;

/** Fails on a peer URL that is not http(s)://HOST[:PORT]; the message names the flag and the fix. */
export function peerUrlError(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `--console-peers ${url}: not a URL; give each other replica's admin base URL, e.g. http://10.0.0.6:15014`;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `--console-peers ${url}: use http:// or https:// (the replica's admin port), e.g. http://10.0.0.6:15014`;
  if (parsed.pathname !== "/" || parsed.search !== "" || parsed.hash !== "") return `--console-peers ${url}: give the admin base URL only (http://HOST:PORT), without a path or query; the console adds /console/api/reports`;
  return undefined;
}

/**
 * The other replicas' reports (--console-peers), fetched when the console asks. A peer that does
 * not answer is an error of the reading; what it sent before is kept (that traffic happened), its
 * proxies are no longer listed as connected.
 */
export class PeerReports {
  readonly #options: PeerReportsOptions;
  readonly #peers: PeerState[];
  #labels = new Map<string, Readonly<Record<string, string>>>();
  #lastAtMs: number | undefined;
  #errors: readonly string[] = [];
  #inFlight: Promise<void> | undefined;

  constructor(options: PeerReportsOptions) {
    this.#options = options;
    this.#peers = [...new Set(options.peers.map((p) => p.replace(/\/+$/, "")))].map((base) => ({ base, cursorMs: undefined, deltas: [], keys: new Set(), svids: [], proxies: [], reporters: [] }));
  }

  get peers(): readonly string[] {
    return this.#peers.map((p) => p.base);
  }

  /** Fetches every peer (at most once per minIntervalMs, one fetch at a time); resolves the errors of the latest fetch. */
  async refresh(): Promise<readonly string[]> {
    const nowMs = this.#options.now();
    if (this.#lastAtMs === undefined || nowMs - this.#lastAtMs >= (this.#options.minIntervalMs ?? 1000)) {
      this.#inFlight ??= this.#fetchAll().finally(() => (this.#inFlight = undefined));
      await this.#inFlight;
    } else if (this.#inFlight !== undefined) {
      await this.#inFlight;
    }
    return this.#errors;
  }

  async #fetchAll(): Promise<void> {
    this.#lastAtMs = this.#options.now();
    const errors: string[] = [];
    await Promise.all(
      this.#peers.map(async (peer) => {
        try {
          await this.#fetch(peer);
        } catch (error) {
          peer.proxies = [];
          const reason = error instanceof Error ? (error.name === "TimeoutError" ? `no answer within ${this.#options.timeoutMs ?? 2000} ms` : error.message) : String(error);
          errors.push(`console peer ${peer.base} failed: ${reason}; its proxies' reports are missing from this reading`);
        }
      }),
    );
    this.#errors = errors;
    this.#prune();
  }

  async #fetch(peer: PeerState): Promise<void> {
    const sinceMs = peer.cursorMs === undefined ? 0 : Math.max(0, peer.cursorMs - OVERLAP_MS);
    const token = this.#options.token !== undefined && this.#options.token !== "" ? `&token=${encodeURIComponent(this.#options.token)}` : "";
    const response = await this.#options.fetch(`${peer.base}/console/api/reports?sinceMs=${sinceMs}${token}`, { signal: AbortSignal.timeout(this.#options.timeoutMs ?? 2000) });
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      let message = text.slice(0, 200);
      try {
        const parsed = JSON.parse(text) as { error?: unknown };
        if (typeof parsed.error === "string") message = parsed.error;
      } catch {
        // Not JSON: the text as it came.
      }
      throw new Error(`HTTP ${response.status}${message === "" ? "" : `: ${message}`}`);
    }
    const decoded = decodeReports(await response.json(), (labels) => this.#intern(labels));
    // Onto this replica's clock: the peer's `nowMs` is about now here.
    const offsetMs = this.#options.now() - decoded.nowMs;
    for (const d of decoded.deltas) {
      const key = reportKey(d);
      if (peer.keys.has(key)) continue;
      peer.keys.add(key);
      peer.deltas.push({ ...d, atMs: d.atMs + offsetMs });
    }
    peer.deltas.sort((a, b) => a.atMs - b.atMs);
    peer.cursorMs = decoded.nowMs;
    peer.svids = decoded.svids.map((s) => ({ ...s, reportedAtMs: s.reportedAtMs + offsetMs }));
    peer.proxies = decoded.proxies.map((p) => ({ ...p, connectedAtMs: p.connectedAtMs + offsetMs }));
    peer.reporters = decoded.reporters;
  }

  #intern(labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    const key = JSON.stringify(labels);
    const held = this.#labels.get(key);
    if (held !== undefined) return held;
    this.#labels.set(key, labels);
    return labels;
  }

  #prune(): void {
    const oldest = this.#options.now() - (this.#options.retainMs ?? 3_600_000);
    for (const peer of this.#peers) {
      const keep = peer.deltas.filter((d) => d.atMs >= oldest);
      if (keep.length === peer.deltas.length) continue;
      peer.deltas = keep;
      peer.keys = new Set(keep.map(reportKey));
    }
    // Flows that stopped leave their labels behind: start over from the kept reports now and then.
    if (this.#labels.size > 50_000) {
      this.#labels = new Map();
      for (const peer of this.#peers) for (const d of peer.deltas) for (const s of [...d.requests, ...d.durationBuckets]) this.#intern(s.labels);
    }
  }

  /** The peers' reports received after `sinceMs` (this replica's clock), oldest first, each (proxy, interval) once. */
  deltasSince(sinceMs: number): ReportDelta[] {
    return mergeReportDeltas(...this.#peers.map((p) => p.deltas.filter((d) => d.atMs > sinceMs)));
  }

  /** The SVIDs the peers hold (as of their last answers). */
  svids(): ReportedSvid[] {
    return [...latestSvids(...this.#peers.map((p) => p.svids)).values()];
  }

  /** Proxies streaming to the peers that answered last time. */
  proxies(): ReportedProxy[] {
    return this.#peers.flatMap((p) => p.proxies);
  }

  /** Proxies that ever reported to a peer (as of their last answers). */
  reporters(): ReadonlySet<string> {
    return new Set(this.#peers.flatMap((p) => p.reporters));
  }
}
