// Traffic as a history of deltas (what proxies reported, or the difference of two scrapes): a
// window sums the deltas received in it, a time series sums them per step. Pure.
import type { MetricSample } from "./prometheus-text.ts";
import type { TrafficWindow } from "./traffic-graph.ts";

/** Increases of the Istio series between two instants, received at `atMs`. */
export interface TrafficDelta {
  readonly atMs: number;
  /** The proxy or target it came from (for descriptions). */
  readonly proxyId: string;
  readonly requests: readonly MetricSample[];
  readonly durationBuckets: readonly MetricSample[];
}

/** One step of a time series: the traffic of (endMs − stepSeconds, endMs]. */
export interface TrafficPoint extends TrafficWindow {
  readonly endMs: number;
}

/** Series keys by label object: reports share label objects, so each is keyed once. */
const keys = new WeakMap<object, string>();

function key(sample: MetricSample): string {
  let labelsKey = keys.get(sample.labels);
  if (labelsKey === undefined) {
    labelsKey = "";
    for (const name of Object.keys(sample.labels).sort()) labelsKey += `\u0000${name}\u0001${sample.labels[name] ?? ""}`;
    keys.set(sample.labels, labelsKey);
  }
  return sample.name + labelsKey;
}

/** The deltas summed per series (equal name and labels), so a long window hands the graph few samples. */
export function sumDeltas(deltas: readonly TrafficDelta[], windowSeconds: number): TrafficWindow {
  const sums = new Map<string, MetricSample>();
  const add = (sample: MetricSample): void => {
    const k = key(sample);
    const held = sums.get(k);
    sums.set(k, held === undefined ? sample : { ...held, value: held.value + sample.value });
  };
  for (const d of deltas) {
    for (const s of d.requests) add(s);
    for (const s of d.durationBuckets) add(s);
  }
  const requests: MetricSample[] = [];
  const durationBuckets: MetricSample[] = [];
  for (const s of sums.values()) (s.labels["le"] === undefined ? requests : durationBuckets).push(s);
  return { requests, durationBuckets, windowSeconds };
}

/**
 * The deltas of (nowMs − windowSeconds, nowMs] in steps of `stepSeconds`, oldest first; a delta
 * counts in the step it was received in. Every step is present (an idle one is empty).
 */
export function binDeltas(deltas: readonly TrafficDelta[], nowMs: number, windowSeconds: number, stepSeconds: number): TrafficPoint[] {
  const steps = Math.max(1, Math.ceil(windowSeconds / stepSeconds));
  const stepMs = stepSeconds * 1000;
  const startMs = nowMs - steps * stepMs;
  const bins: TrafficDelta[][] = Array.from({ length: steps }, () => []);
  for (const d of deltas) {
    if (d.atMs <= startMs || d.atMs > nowMs) continue;
    const i = Math.min(steps - 1, Math.floor((d.atMs - startMs - 1) / stepMs));
    bins[i]?.push(d);
  }
  return bins.map((bin, i) => ({ ...sumDeltas(bin, stepSeconds), endMs: startMs + (i + 1) * stepMs }));
}

/** The step of a window's time series: about 60 points, at least `minStepSeconds` (the report interval). */
export function seriesStep(windowSeconds: number, minStepSeconds = 5): number {
  return Math.max(minStepSeconds, Math.ceil(windowSeconds / 60));
}
