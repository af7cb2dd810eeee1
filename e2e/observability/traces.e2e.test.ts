// Traces from real sidecars to an OTLP/HTTP receiver: one request through productpage → reviews
// (v2 or v3) → ratings is one trace whose server and client spans link parent to child across
// both hops, continuing the trace the caller started.
import { randomBytes } from "node:crypto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMiniBookinfo, type MiniBookinfo } from "./support/mini-bookinfo.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./support/otlp-receiver.ts";
import { eventually } from "./support/processes.ts";

let receiver: OtlpReceiver;
let mesh: MiniBookinfo;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  mesh = await startMiniBookinfo({ otlpEndpoint: receiver.url, traceSampling: 100 });
}, 180_000);

afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
});

const SERVER = 2;
const CLIENT = 3;

describe("traces over OTLP/HTTP", () => {
  it("the receiver decodes what the OpenTelemetry SDK's OTLP/HTTP exporter sends", async () => {
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: receiver.url }))] });
    const span = provider.getTracer("check").startSpan("sdk-span");
    const { traceId, spanId } = span.spanContext();
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    expect(receiver.spans.find((s) => s.spanId === spanId)).toMatchObject({ traceId, name: "sdk-span" });
  });

  it("one request across two hops is one trace with parent links from hop to hop", async () => {
    // Repeat until reviews v2 or v3 served it (v1 does not call ratings).
    const { traceId, root } = await eventually("a visit served by reviews v2 or v3", async () => {
      const attempt = { traceId: randomBytes(16).toString("hex"), root: randomBytes(8).toString("hex") };
      const page = await mesh.visit({ traceparent: `00-${attempt.traceId}-${attempt.root}-01` });
      return page.status === 200 && page.body.includes("stars=5") ? attempt : undefined;
    });
    const host = (service: string) => `${service}.default.svc.cluster.local:9080/*`;
    const find = (spans: readonly ReceivedSpan[], kind: number, service: string) => spans.find((s) => s.kind === kind && s.name === host(service));
    // The batch span processors export every few seconds.
    const spans = await eventually(
      "the trace's seven spans at the receiver",
      async () => {
        const mine = receiver.spans.filter((s) => s.traceId === traceId);
        // Each sidecar's batch processor exports on its own schedule: wait for every span asserted below.
        const expected: [number, string][] = [[SERVER, "productpage"], [CLIENT, "reviews"], [SERVER, "reviews"], [CLIENT, "ratings"], [SERVER, "ratings"], [CLIENT, "details"], [SERVER, "details"]];
        return expected.every(([kind, service]) => find(mine, kind, service) !== undefined) ? mine : undefined;
      },
      30_000,
    );
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    const productpageIn = find(spans, SERVER, "productpage");
    const toReviews = find(spans, CLIENT, "reviews");
    const reviewsIn = find(spans, SERVER, "reviews");
    const toRatings = find(spans, CLIENT, "ratings");
    const ratingsIn = find(spans, SERVER, "ratings");
    expect(productpageIn?.parentSpanId).toBe(root);
    expect(toReviews?.parentSpanId).toBe(productpageIn?.spanId);
    expect(reviewsIn?.parentSpanId).toBe(toReviews?.spanId);
    expect(toRatings?.parentSpanId).toBe(reviewsIn?.spanId);
    expect(ratingsIn?.parentSpanId).toBe(toRatings?.spanId);
    expect(find(spans, SERVER, "details")?.parentSpanId).toBe(find(spans, CLIENT, "details")?.spanId);
    // Every span's parent is the caller's span or another span of the trace.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans) expect(s.parentSpanId === root || ids.has(s.parentSpanId), `${s.name} kind ${s.kind}`).toBe(true);
    expect(ratingsIn?.attributes["http.response.status_code"] ?? ratingsIn?.attributes["http.status_code"]).toBe(200);
  });
});
