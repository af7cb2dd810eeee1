import { describe, expect, it } from "vitest";
import { binDeltas, seriesStep, sumDeltas, type TrafficDelta } from "./traffic-history.ts";

const requests = (value: number, code = "200") => ({ name: "istio_requests_total", labels: { reporter: "source", response_code: code }, value });
const bucket = (value: number, le: string) => ({ name: "istio_request_duration_milliseconds_bucket", labels: { reporter: "source", response_code: "200", le }, value });
const delta = (atMs: number, n: number): TrafficDelta => ({ atMs, proxyId: "p", requests: [requests(n)], durationBuckets: [bucket(n, "10"), bucket(n, "+Inf")] });

describe("traffic history", () => {
  it("sums deltas per series, keeping buckets apart from requests", () => {
    const w = sumDeltas([delta(1, 2), delta(2, 3), { atMs: 3, proxyId: "q", requests: [requests(1, "503")], durationBuckets: [] }], 60);
    expect(w.windowSeconds).toBe(60);
    expect(w.requests.map((s) => [s.labels["response_code"], s.value])).toEqual([
      ["200", 5],
      ["503", 1],
    ]);
    expect(w.durationBuckets.map((s) => [s.labels["le"], s.value])).toEqual([
      ["10", 5],
      ["+Inf", 5],
    ]);
  });

  it("bins deltas by the step they arrived in, every step present, the window's start excluded", () => {
    const points = binDeltas([delta(0, 100), delta(1, 1), delta(5_000, 2), delta(5_001, 3), delta(20_000, 4), delta(20_001, 99)], 20_000, 20, 5);
    expect(points.map((p) => p.endMs)).toEqual([5_000, 10_000, 15_000, 20_000]);
    expect(points.map((p) => p.requests.reduce((n, s) => n + s.value, 0))).toEqual([3, 3, 0, 4]);
    expect(points.every((p) => p.windowSeconds === 5)).toBe(true);
  });

  it("steps about 60 points per window, never below the report interval", () => {
    expect(seriesStep(60)).toBe(5);
    expect(seriesStep(300)).toBe(5);
    expect(seriesStep(3600)).toBe(60);
  });
});
