import { describe, expect, it } from "vitest";
import type { MetricSample } from "./prometheus-text.ts";
import { buildTrafficGraph, healthOf, histogramQuantile, REQUESTS_TOTAL, DURATION_BUCKET } from "./traffic-graph.ts";

interface W {
  workload: string;
  app: string;
  version: string;
  principal?: string;
}
const productpage: W = { workload: "productpage-v1", app: "productpage", version: "v1", principal: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage" };
const reviewsV1: W = { workload: "reviews-v1", app: "reviews", version: "v1", principal: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews" };
const reviewsV2: W = { workload: "reviews-v2", app: "reviews", version: "v2", principal: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews" };
const ratings: W = { workload: "ratings-v1", app: "ratings", version: "v1" };

function labels(reporter: "source" | "destination", src: W | undefined, dst: W, service: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    reporter,
    source_workload: src?.workload ?? "unknown",
    source_workload_namespace: src === undefined ? "unknown" : "default",
    source_app: src?.app ?? "unknown",
    source_version: src?.version ?? "unknown",
    source_principal: src?.principal ?? "unknown",
    destination_workload: dst.workload,
    destination_workload_namespace: "default",
    destination_app: dst.app,
    destination_version: dst.version,
    destination_service: `${service}.default.svc.cluster.local`,
    destination_service_name: service,
    destination_service_namespace: "default",
    connection_security_policy: reporter === "source" ? "unknown" : "mutual_tls",
    ...extra,
  };
}

const req = (l: Record<string, string>, code: string, value: number): MetricSample => ({ name: REQUESTS_TOTAL, labels: { ...l, response_code: code }, value });
const buckets = (l: Record<string, string>, counts: [string, number][]): MetricSample[] => counts.map(([le, value]) => ({ name: DURATION_BUCKET, labels: { ...l, le }, value }));

describe("buildTrafficGraph", () => {
  it("draws workload → service → workload edges with rate, error share, p99, mTLS and Kiali's health", () => {
    const pToR1 = labels("source", productpage, reviewsV1, "reviews");
    const pToR2 = labels("source", productpage, reviewsV2, "reviews");
    const r2ToRatings = labels("source", reviewsV2, ratings, "ratings");
    const graph = buildTrafficGraph({
      windowSeconds: 60,
      requests: [
        req(pToR1, "200", 60),
        req(pToR2, "200", 60),
        req(r2ToRatings, "200", 50),
        req(r2ToRatings, "503", 10),
        // What the servers saw (mTLS, source known from peer metadata): not counted twice.
        req(labels("destination", productpage, reviewsV1, "reviews"), "200", 60),
        req(labels("destination", productpage, reviewsV2, "reviews"), "200", 60),
      ],
      durationBuckets: [...buckets(pToR1, [["5", 30], ["10", 60], ["+Inf", 60]])],
    });
    const edge = (id: string) => graph.edges.find((e) => e.id === id);
    expect(graph.edges.map((e) => e.id)).toEqual([
      "svc:default/ratings->wl:default/ratings-v1",
      "svc:default/reviews->wl:default/reviews-v1",
      "svc:default/reviews->wl:default/reviews-v2",
      "wl:default/productpage-v1->svc:default/reviews",
      "wl:default/reviews-v2->svc:default/ratings",
    ]);
    expect(edge("wl:default/productpage-v1->svc:default/reviews")).toMatchObject({ requestsPerSecond: 2, errorRate: 0, health: "healthy", mtls: true });
    expect(edge("svc:default/reviews->wl:default/reviews-v1")?.p99Ms).toBeCloseTo(9.9, 5);
    // 10 of 60 failed: 16.7 % > 10 %: failing; no server-side report for ratings: mTLS unknown.
    expect(edge("wl:default/reviews-v2->svc:default/ratings")).toMatchObject({ health: "failing", mtls: false, mtlsShare: null });
    expect(edge("wl:default/reviews-v2->svc:default/ratings")?.errorRate).toBeCloseTo(10 / 60, 6);
    const node = (id: string) => graph.nodes.find((n) => n.id === id);
    expect(node("wl:default/ratings-v1")).toMatchObject({ kind: "workload", health: "failing", parent: "app:default/ratings", version: "v1" });
    expect(node("wl:default/reviews-v1")).toMatchObject({ health: "healthy" });
    expect(node("app:default/reviews")).toMatchObject({ kind: "app", health: "healthy" });
    expect(node("svc:default/reviews")).toMatchObject({ kind: "service", requestsPerSecond: 2 });
    expect(graph.namespaces).toEqual(["default"]);
  });

  it("adds what only the server saw as traffic from outside the mesh, not a called workload's retries, and filters by namespace", () => {
    const graph = buildTrafficGraph({
      windowSeconds: 10,
      requests: [
        req(labels("source", productpage, reviewsV1, "reviews"), "503", 10),
        // Three attempts per request reached reviews-v1 (retries), which has no peer metadata.
        req(labels("destination", undefined, reviewsV1, "reviews"), "503", 30),
        req(labels("destination", undefined, productpage, "productpage"), "200", 30),
      ],
      durationBuckets: [],
    });
    expect(graph.edges.filter((e) => e.source === "unknown")).toEqual([expect.objectContaining({ target: "svc:default/productpage", requestsPerSecond: 3 })]);
    expect(graph.edges.find((e) => e.target === "wl:default/reviews-v1")).toMatchObject({ requestsPerSecond: 1, health: "failing" });
    expect(buildTrafficGraph({ windowSeconds: 10, requests: [req(labels("source", productpage, reviewsV1, "reviews"), "200", 10)], durationBuckets: [] }, { namespaces: ["other"] }).edges).toEqual([]);
  });
});

describe("healthOf", () => {
  it("uses Kiali's thresholds: ≥ 0.1 % degraded, > 10 % failing", () => {
    expect(healthOf(0, 0)).toBe("idle");
    expect(healthOf(10_000, 9)).toBe("healthy");
    expect(healthOf(10_000, 10)).toBe("degraded");
    expect(healthOf(100, 10)).toBe("degraded");
    expect(healthOf(100, 11)).toBe("failing");
  });
});

describe("histogramQuantile", () => {
  it("interpolates like Prometheus and returns the top finite bound in +Inf", () => {
    expect(histogramQuantile(0.5, [{ le: 10, count: 50 }, { le: 20, count: 100 }, { le: Number.POSITIVE_INFINITY, count: 100 }])).toBe(10);
    expect(histogramQuantile(0.99, [{ le: 10, count: 0 }, { le: 20, count: 100 }, { le: Number.POSITIVE_INFINITY, count: 100 }])).toBeCloseTo(19.9, 6);
    expect(histogramQuantile(0.99, [{ le: 10, count: 10 }, { le: Number.POSITIVE_INFINITY, count: 100 }])).toBe(10);
    expect(histogramQuantile(0.99, [])).toBeNull();
  });
});
