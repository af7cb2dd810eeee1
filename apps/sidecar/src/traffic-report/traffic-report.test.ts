import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createIstioMetrics } from "../telemetry/istio-metrics.ts";
import { readTrafficTotals, trafficDelta, trafficTotals } from "./traffic-report.ts";

function metrics() {
  const registry = new Registry();
  const self = { workload: "productpage-v1", namespace: "default", app: "productpage", version: "v1", principal: "spiffe://cluster.local/ns/default/sa/productpage" };
  const outbound = createIstioMetrics({ reporter: "source", self, registry });
  const inbound = createIstioMetrics({ reporter: "destination", self, registry });
  const reviews = outbound.peer({ peer: { workload: "reviews-v2", namespace: "default", app: "reviews", version: "v2" }, service: { host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" } });
  const fromGateway = inbound.peer({ peer: { principal: "spiffe://cluster.local/ns/istio-system/sa/gateway" }, service: { host: "productpage.default.svc.cluster.local", name: "productpage", namespace: "default" }, securityPolicy: "mutual_tls" });
  return { registry, reviews, fromGateway };
}

describe("the traffic report", () => {
  it("counts each flow's requests and duration buckets since the previous report", async () => {
    const m = metrics();
    for (let i = 0; i < 9; i++) m.reviews.recordRequest("http", 200, -1, 0, 7, 100, 200);
    m.reviews.recordRequest("http", 503, -1, 0, 120, 100, 20);
    m.fromGateway.recordRequest("http", 200, -1, 0, 30, 100, 500);
    const first = await readTrafficTotals(m.registry);
    expect(first.bounds.slice(0, 4)).toEqual([0.5, 1, 5, 10]);
    const report = trafficDelta(undefined, first);
    const ok = report.find((s) => s.reporter === "source" && s.responseCode === "200");
    expect(ok).toMatchObject({ sourceWorkload: "productpage-v1", sourceApp: "productpage", sourcePrincipal: "spiffe://cluster.local/ns/default/sa/productpage", destinationWorkload: "reviews-v2", destinationVersion: "v2", destinationServiceName: "reviews", destinationPrincipal: "", connectionSecurityPolicy: "", requests: 9, durationSumMs: 63 });
    // 7 ms falls in (5, 10]: the fourth bucket; counts end there.
    expect(ok?.durationCounts).toEqual([0, 0, 0, 9]);
    expect(report.find((s) => s.responseCode === "503")?.durationCounts).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(report.find((s) => s.reporter === "destination")).toMatchObject({ sourcePrincipal: "spiffe://cluster.local/ns/istio-system/sa/gateway", sourceWorkload: "", destinationWorkload: "productpage-v1", connectionSecurityPolicy: "mutual_tls", requests: 1 });
    expect(report).toHaveLength(3);

    m.reviews.recordRequest("http", 200, -1, 0, 0.2, 100, 200);
    const second = trafficDelta(first, await readTrafficTotals(m.registry));
    expect(second).toEqual([expect.objectContaining({ responseCode: "200", reporter: "source", requests: 1, durationCounts: [1] })]);
  });

  it("sums series that differ only in labels a report leaves out, and counts a reset from zero", () => {
    const labels = { reporter: "source", source_workload: "a", destination_workload: "b", response_code: "200" };
    const totals = trafficTotals(
      [
        { labels: { ...labels, response_flags: "-" }, value: 2 },
        { labels: { ...labels, response_flags: "URX" }, value: 3 },
      ],
      [
        { labels: { ...labels, response_flags: "-", le: "10" }, value: 2, metricName: "istio_request_duration_milliseconds_bucket" },
        { labels: { ...labels, response_flags: "-", le: "+Inf" }, value: 2, metricName: "istio_request_duration_milliseconds_bucket" },
        { labels: { ...labels, response_flags: "URX", le: "10" }, value: 1, metricName: "istio_request_duration_milliseconds_bucket" },
        { labels: { ...labels, response_flags: "URX", le: "+Inf" }, value: 3, metricName: "istio_request_duration_milliseconds_bucket" },
      ],
    );
    expect(trafficDelta(undefined, totals)).toEqual([expect.objectContaining({ requests: 5, durationCounts: [3, 2] })]);
    const later = trafficTotals([{ labels, value: 1 }], []);
    expect(trafficDelta(totals, later)).toEqual([expect.objectContaining({ requests: 1 })]);
  });
});
