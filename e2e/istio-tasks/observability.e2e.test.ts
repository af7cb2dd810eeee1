// Istio task "Querying Metrics from Prometheus" (https://istio.io/latest/docs/tasks/observability/metrics/querying-metrics/):
// after traffic through the gateway, the proxies' /stats/prometheus hold istio_requests_total
// with Istio's standard labels — productpage's sidecar as reporter "destination" for the page and
// as reporter "source" for its calls to reviews, which carry destination_service
// reviews.default.svc.cluster.local and the version that answered. With mutual TLS on (SVIDs
// from the ca), the server side also records the client's SPIFFE identity and mutual_tls.
import { beforeAll, describe, expect, it } from "vitest";
import { sampleReviews } from "./support/bookinfo-client.ts";
import { randomBytes } from "node:crypto";
import { startOtlpReceiver } from "../observability/support/otlp-receiver.ts";
import { topology, type MeshEndpoints } from "./support/local-mesh.ts";
import { prometheusSamples, sumWhere, type Sample } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

let mesh: MeshEndpoints;
beforeAll(async () => {
  mesh = await useLocalMesh();
}, MESH_HOOK_TIMEOUT);

const stats = (workload: keyof MeshEndpoints["workloads"]) => `http://127.0.0.1:${mesh.workloads[workload].stats}`;

const pageInbound = { reporter: "destination", destination_workload: "productpage-v1", destination_app: "productpage", destination_version: "v1", destination_service: "productpage.default.svc.cluster.local", destination_service_name: "productpage", destination_workload_namespace: "default", request_protocol: "http", response_code: "200" };
const reviewsOutbound = { reporter: "source", source_workload: "productpage-v1", source_app: "productpage", source_version: "v1", source_workload_namespace: "default", destination_service: "reviews.default.svc.cluster.local", destination_service_name: "reviews", destination_app: "reviews", request_protocol: "http", response_code: "200" };

describe("observability: istio_requests_total", () => {
  it("counts the page's requests with Istio's labels on productpage's sidecar, both as destination and as source", async () => {
    const before = await prometheusSamples(stats("productpage-v1"), "istio_requests_total");
    const n = 10;
    const shown = await sampleReviews(mesh, n);
    const after = await prometheusSamples(stats("productpage-v1"), "istio_requests_total");
    expect(sumWhere(after, pageInbound) - sumWhere(before, pageInbound)).toBeGreaterThanOrEqual(n);
    expect(sumWhere(after, reviewsOutbound) - sumWhere(before, reviewsOutbound)).toBeGreaterThanOrEqual(n);
    // Each answering reviews version is a series of its own (Istio's `destination_version="v3"` query).
    for (const version of ["v1", "v2", "v3"] as const) {
      const delta = sumWhere(after, { ...reviewsOutbound, destination_version: version }) - sumWhere(before, { ...reviewsOutbound, destination_version: version });
      expect(delta, `reviews ${version}`).toBeGreaterThanOrEqual(shown[version]);
    }
  });

  it("with mutual TLS, the server side records the client's SPIFFE identity and connection_security_policy mutual_tls", async () => {
    await sampleReviews(mesh, 5);
    const reviews: Sample[] = [];
    for (const w of ["reviews-v1", "reviews-v2", "reviews-v3"] as const) reviews.push(...(await prometheusSamples(stats(w), "istio_requests_total")));
    const principal = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage";
    const fromPage = reviews.filter((s) => s.labels["reporter"] === "destination" && s.labels["source_principal"] === principal);
    expect(fromPage.length, `reporter="destination" series on reviews with source_principal="${principal}"; the series are ${JSON.stringify(reviews.filter((s) => s.labels["reporter"] === "destination").map((s) => s.labels))}`).toBeGreaterThan(0);
    for (const s of fromPage) {
      // The peer's namespace comes from its SPIFFE ID; its workload, app and version from the
      // metadata exchange between the proxies (x-envoy-peer-metadata), as in Istio.
      expect(s.labels).toMatchObject({
        connection_security_policy: "mutual_tls",
        destination_principal: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
        source_workload_namespace: "default",
        source_workload: "productpage-v1",
        source_app: "productpage",
        source_version: "v1",
      });
    }
  });
});

// Istio task "Distributed tracing" (https://istio.io/latest/docs/tasks/observability/distributed-tracing/overview/):
// one request through the ingress gateway makes one trace with a span per proxy hop — the gateway,
// productpage's sidecar (inbound and outbound), details and reviews — each the child of the hop
// before it. The client decides the sampling (x-b3-sampled: 1), as the task's curl loop relies on
// the proxies' sampling; the apps forward the B3 headers.
describe("observability: one trace through the mesh", () => {
  it("gives one trace spanning the gateway and every sidecar hop, each span the child of the one before", { timeout: 90_000 }, async () => {
    const receiver = await startOtlpReceiver(Number(new URL(topology.otlpEndpoint).port));
    try {
      const traceId = randomBytes(16).toString("hex");
      const spanId = randomBytes(8).toString("hex");
      const response = await fetch(`${mesh.gateway}/productpage`, { headers: { "x-b3-traceid": traceId, "x-b3-spanid": spanId, "x-b3-sampled": "1" } });
      expect(response.status).toBe(200);
      await response.text();
      const services = (): Set<string> => new Set(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.serviceName));
      const wanted = ["istio-ingressgateway.istio-system", "productpage.default", "details.default", "reviews.default"];
      for (let i = 0; i < 300 && !wanted.every((w) => services().has(w)); i++) await new Promise((r) => setTimeout(r, 100));
      const trace = receiver.spans.filter((s) => s.traceId === traceId);
      expect([...services()].sort(), JSON.stringify(trace.map((s) => [s.serviceName, s.name, s.kind]))).toEqual(expect.arrayContaining(wanted));
      // One root: the gateway's span, child of the client's span; every other span's parent is in the trace.
      const ids = new Set(trace.map((s) => s.spanId));
      const roots = trace.filter((s) => !ids.has(s.parentSpanId));
      expect(roots.map((s) => [s.serviceName, s.parentSpanId])).toEqual([["istio-ingressgateway.istio-system", spanId]]);
    } finally {
      await receiver.close();
    }
  });
});

