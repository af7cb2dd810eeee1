// Proxy reports over real gRPC on loopback: DiscoveryClient.report → DiscoveryServer.onReport →
// ProxyReports → the console API (graph, service time series, identities) on the report source.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { DiscoveryClient, DiscoveryServiceService } from "@meshwork/protocol";
import type { ProxyNode } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import { AdminRouter } from "../admin/admin-router.ts";
import { ControlPlaneMetrics } from "../admin/control-plane-metrics.ts";
import { ConfigStore } from "../config-store/config-store.ts";
import { DiscoveryServer } from "../push/discovery-server.ts";
import { svidState } from "./console-api.ts";
import { registerConsoleRoutes } from "./console-routes.ts";
import { ProxyReports, reportSamples, type ProxyReport } from "./proxy-reports.ts";
import { reportTrafficSource } from "./traffic-source.ts";

const bounds = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

function node(id: string, workload: string, app: string, version: string): ProxyNode {
  return { id, workload, namespace: "default", serviceAccount: `bookinfo-${app}`, labels: { app, version }, version: "test", kind: "sidecar" };
}

const flow = {
  sourceWorkload: "productpage-v1",
  sourceNamespace: "default",
  sourceApp: "productpage",
  sourceVersion: "v1",
  sourcePrincipal: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
  destinationService: "reviews.default.svc.cluster.local",
  destinationServiceName: "reviews",
  destinationServiceNamespace: "default",
  destinationWorkload: "reviews-v2",
  destinationNamespace: "default",
  destinationApp: "reviews",
  destinationVersion: "v2",
  destinationPrincipal: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
  durationSumMs: 0,
};

function report(nowMs: number, code: string, requests: number, svid: ProxyReport["svid"], reporter: "source" | "destination"): ProxyReport {
  return {
    intervalStartMs: nowMs - 5000,
    intervalEndMs: nowMs,
    durationBoundsMs: bounds,
    // 9 requests of (5, 10] ms and 1 of (100, 250]; counts stop after the last non-empty bucket.
    traffic: [{ ...flow, reporter, responseCode: code, connectionSecurityPolicy: reporter === "source" ? "unknown" : "mutual_tls", requests, durationCounts: [0, 0, 0, requests - 1, 0, 0, 0, 1] }],
    svid,
  };
}

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function setup() {
  let now = 1_800_000_000_000;
  const clock = () => now;
  const reports = new ProxyReports({ now: clock });
  const discovery = new DiscoveryServer({
    controlPlaneId: "cp-reports",
    compute: () => {
      throw new Error("never ready: this test sends reports only");
    },
    isReady: () => false,
    timers: { now: clock, setTimeout: (cb, ms) => setTimeout(cb, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    debounce: { quietMs: 10, maxMs: 100 },
    logger: createLogger({ name: "test", write: () => undefined }),
    metrics: new ControlPlaneMetrics(),
    onReport: (n, r) => reports.add(n, r),
  });
  const server = new Server();
  server.addService(DiscoveryServiceService, discovery.service);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  stops.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  stops.push(() => discovery.close());
  const store = new ConfigStore({ mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, defaultNamespace: "default", sources: ["directory"], needsCatalog: false });
  store.setEntries("directory", []);
  const router = registerConsoleRoutes(new AdminRouter(), {
    store,
    discovery,
    traffic: reportTrafficSource(reports, clock),
    svidOf: (id) => reports.svidOf(id),
    registryHttp: [],
    fetch: () => Promise.reject(new Error("no network in this test")),
    now: clock,
    controlPlaneId: "cp-reports",
    trustDomain: "cluster.local",
    domainSuffix: "cluster.local",
    bind: "127.0.0.1",
    token: undefined,
  });
  const connect = (proxy: ProxyNode): DiscoveryClient => {
    const client = new DiscoveryClient({ addresses: [`127.0.0.1:${port}`], node: proxy, apply: () => undefined });
    client.start();
    stops.push(() => client.close());
    return client;
  };
  const get = async (url: string) => (await router.handle("GET", url, "")).body as Record<string, unknown>;
  return { reports, discovery, connect, get, advance: (ms: number) => (now += ms), now: clock };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("proxy reports on the discovery stream", () => {
  it("reach the console's graph, the service's time series and the identities page", async () => {
    const t = await setup();
    const productpage = t.connect(node("productpage-v1.default", "productpage-v1", "productpage", "v1"));
    const reviews = t.connect(node("reviews-v2.default", "reviews-v2", "reviews", "v2"));
    await until("both proxies to connect", () => t.discovery.status().length === 2);
    // Not connected: a report would be lost, so the client says so.
    expect(new DiscoveryClient({ addresses: ["127.0.0.1:1"], node: node("x", "x", "x", "v1"), apply: () => undefined }).report(report(t.now(), "200", 1, undefined, "source"))).toBe(false);
    const soon = { spiffeId: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage", serial: "0a1b", notBeforeMs: t.now() - 3_000_000, notAfterMs: t.now() + 1_800_000 };
    const later = { spiffeId: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews", serial: "0c2d", notBeforeMs: t.now() - 60_000, notAfterMs: t.now() + 86_400_000 };
    // Two intervals of productpage's outbound traffic, one of them with failures, and reviews' inbound side.
    expect(productpage.report(report(t.now(), "200", 10, soon, "source"))).toBe(true);
    expect(reviews.report(report(t.now(), "200", 10, later, "destination"))).toBe(true);
    await until("two reports", () => t.reports.deltasSince(0).length === 2);
    t.advance(30_000);
    expect(productpage.report(report(t.now(), "503", 10, soon, "source"))).toBe(true);
    await until("the third report", () => t.reports.deltasSince(0).length === 3);

    const graph = (await t.get("/console/api/graph?window=60")) as { source: string; edges: { source: string; target: string; requestsPerSecond: number; errorRate: number; p99Ms: number | null; mtls: boolean; responseCodes: Record<string, number> }[] };
    expect(graph.source).toBe("reports of 2 proxy(ies) on the discovery stream");
    const toReviews = graph.edges.find((e) => e.source === "wl:default/productpage-v1" && e.target === "svc:default/reviews");
    expect(toReviews).toMatchObject({ responseCodes: { "200": 10, "503": 10 }, errorRate: 0.5, mtls: true });
    expect(toReviews?.requestsPerSecond).toBeCloseTo(20 / 60);
    expect(toReviews?.p99Ms).toBeGreaterThan(100);
    expect(graph.edges.find((e) => e.source === "svc:default/reviews" && e.target === "wl:default/reviews-v2")).toBeDefined();

    // The series: the 200s in the step 30 s ago, the 503s in the last step.
    const service = (await t.get("/console/api/services/default/reviews?window=60")) as { series: { stepSeconds: number; points: { endMs: number; requestsPerSecond: number; errorRate: number | null; p99Ms: number | null }[] } };
    expect(service.series.stepSeconds).toBe(5);
    expect(service.series.points).toHaveLength(12);
    const busy = service.series.points.filter((p) => p.requestsPerSecond > 0);
    expect(busy.map((p) => [p.requestsPerSecond, p.errorRate])).toEqual([
      [2, 0],
      [2, 1],
    ]);
    expect(busy.every((p) => p.p99Ms !== null && p.p99Ms > 100)).toBe(true);
    expect(service.series.points.at(-1)?.endMs).toBe(t.now());

    // 30 s later productpage's SVID expires within the hour; reviews' does not.
    const identities = (await t.get("/console/api/identities")) as { identities: { proxy: string; spiffeId: string; serial: string | null; state: string; expiresInSeconds: number | null }[] };
    expect(identities.identities.map((i) => [i.proxy, i.spiffeId, i.serial, i.state, i.expiresInSeconds])).toEqual([
      ["productpage-v1.default", soon.spiffeId, "0a1b", "expiring", 1770],
      ["reviews-v2.default", later.spiffeId, "0c2d", "valid", 86_370],
    ]);
    t.advance(1_800_000);
    const expired = (await t.get("/console/api/identities")) as { identities: { state: string }[]; counts: Record<string, number> };
    expect(expired.counts).toEqual({ expired: 1, valid: 1 });
    // An hour on, the window has no traffic left.
    t.advance(3_600_000);
    expect(((await t.get("/console/api/graph?window=3600")) as { edges: unknown[] }).edges).toEqual([]);
  });

  it("keeps the stream's subscriptions working beside reports (a report is not an unknown type)", async () => {
    const t = await setup();
    const client = t.connect(node("details-v1.default", "details-v1", "details", "v1"));
    await until("the proxy to connect", () => t.discovery.status().length === 1);
    expect(client.report(report(t.now(), "200", 3, undefined, "source"))).toBe(true);
    await until("the report", () => t.reports.reporters.has("details-v1.default"));
    expect(t.discovery.status().length).toBe(1);
    expect(t.reports.svidOf("details-v1.default")).toBeUndefined();
  });
});

describe("reportSamples", () => {
  it("turns per-bucket counts into cumulative le buckets and empty labels into unknown", () => {
    const samples = reportSamples({ intervalStartMs: 0, intervalEndMs: 1, durationBoundsMs: [1, 10], traffic: [{ ...flow, sourceVersion: "", reporter: "source", responseCode: "200", connectionSecurityPolicy: "", requests: 4, durationCounts: [1, 2, 1] }], svid: undefined });
    expect(samples.requests).toEqual([expect.objectContaining({ value: 4, labels: expect.objectContaining({ source_version: "unknown", connection_security_policy: "unknown" }) })]);
    expect(samples.durationBuckets.map((s) => [s.labels["le"], s.value])).toEqual([
      ["1", 1],
      ["10", 3],
      ["+Inf", 4],
    ]);
  });

  it("ignores negative or non-finite counts a proxy might send", () => {
    const samples = reportSamples({ intervalStartMs: 0, intervalEndMs: 1, durationBoundsMs: [1], traffic: [{ ...flow, reporter: "source", responseCode: "200", connectionSecurityPolicy: "", requests: -3, durationCounts: [] }], svid: undefined });
    expect(samples.requests).toEqual([]);
  });
});

describe("svidState", () => {
  it("flags an SVID expiring within the hour, an expired one and one not yet valid", () => {
    const svid = { notBeforeMs: 1_000, notAfterMs: 1_000 + 7_200_000 };
    expect(svidState(undefined, 5_000)).toBe("unknown");
    expect(svidState(svid, 500)).toBe("not-yet-valid");
    expect(svidState(svid, 1_000 + 3_600_000 - 1)).toBe("valid");
    expect(svidState(svid, 1_000 + 3_600_000)).toBe("expiring");
    expect(svidState(svid, 1_000 + 7_200_000)).toBe("expired");
  });
});
