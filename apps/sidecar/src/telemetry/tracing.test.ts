import { randomFillSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RESPONSE_FLAGS } from "./response-flags.ts";
import { extractTraceContext } from "./trace-context.ts";
import { IdSource, RequestTrace, createTracing, type SpanEnd, type Tracing } from "./tracing.ts";

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  status: { code?: number };
}
interface OtlpRequest {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** A real HTTP server acting as an OTLP/HTTP receiver: keeps what arrives at /v1/traces. */
async function startReceiver(): Promise<{ url: string; requests: { path: string; type: string; body: OtlpRequest }[]; server: Server }> {
  const requests: { path: string; type: string; body: OtlpRequest }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({
        path: req.url ?? "",
        type: req.headers["content-type"] ?? "",
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpRequest,
      });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, requests, server };
}

function attrs(list: OtlpAttribute[]): Record<string, unknown> {
  return Object.fromEntries(
    list.map((a) => [a.key, a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : a.value.boolValue)]),
  );
}

/** Deterministic id bytes: a counter, so ids are predictable and distinct. */
function countingBytes() {
  let n = 1;
  return (buffer: Uint8Array) => {
    for (let i = 0; i < buffer.length; i++) buffer[i] = n++ & 0xff;
  };
}

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

function spanEnd(overrides: Partial<SpanEnd> = {}): SpanEnd {
  return {
    kind: "client",
    name: "reviews.default.svc.cluster.local:9080/*",
    startTimeMs: 1_790_000_000_000.25,
    endTimeMs: 1_790_000_000_012.75,
    method: "GET",
    path: "/reviews/0?x=1",
    authority: "reviews:9080",
    protocolVersion: "1.1",
    statusCode: 200,
    responseFlags: 0,
    upstreamCluster: "outbound|9080||reviews.default.svc.cluster.local",
    upstreamHost: "127.0.0.1:9081",
    userAgent: "curl/8",
    requestBytes: 10,
    responseBytes: 300,
    ...overrides,
  };
}

let open: { tracing: Tracing; server: Server }[] = [];
afterEach(async () => {
  for (const { tracing, server } of open) {
    await tracing.shutdown();
    await new Promise((resolve) => server.close(resolve));
  }
  open = [];
});

async function setup(samplingPercent: number, random = () => 0.5) {
  const receiver = await startReceiver();
  const tracing = createTracing({
    samplingPercent,
    nodeId: "sidecar~127.0.0.1~productpage-v1.default~default.svc.cluster.local",
    serviceName: "productpage.default",
    canonicalService: "productpage",
    canonicalRevision: "v1",
    namespace: "default",
    otlpEndpoint: receiver.url,
    random,
    randomBytes: countingBytes(),
    uuid: () => "11111111-2222-4333-8444-555555555555",
  });
  open.push({ tracing, server: receiver.server });
  return { tracing, receiver };
}

describe("createTracing", () => {
  it("exports a client span whose ids are the ones sent upstream, child of the incoming span", async () => {
    const { tracing, receiver } = await setup(0);
    const trace = tracing.startRequest({ traceparent: `00-${TRACE}-${PARENT}-01`, "x-request-id": "req-1" });
    expect(trace).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, sampled: true, requestId: "req-1", requestIdGenerated: false });
    const upstream = extractTraceContext(Object.fromEntries(tracing.headerEntries(trace)));
    expect(upstream).toMatchObject({ traceId: TRACE, spanId: trace.spanId, sampled: true });
    expect(tracing.headerLines(trace)).toContain(`x-b3-spanid: ${trace.spanId}\r\n`);

    tracing.endSpan(trace, spanEnd());
    await tracing.forceFlush();

    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]?.path).toBe("/v1/traces");
    const rs = receiver.requests[0]?.body.resourceSpans[0];
    expect(attrs(rs?.resource.attributes ?? [])).toMatchObject({ "service.name": "productpage.default" });
    const span = rs?.scopeSpans[0]?.spans[0];
    expect(span).toMatchObject({
      traceId: TRACE,
      spanId: trace.spanId,
      parentSpanId: PARENT,
      name: "reviews.default.svc.cluster.local:9080/*",
      kind: 3, // SPAN_KIND_CLIENT
    });
    expect(BigInt(span?.endTimeUnixNano ?? 0) - BigInt(span?.startTimeUnixNano ?? 0)).toBe(12_500_000n);
    expect(span?.status.code ?? 0).toBe(0); // unset
    expect(attrs(span?.attributes ?? [])).toMatchObject({
      component: "proxy",
      node_id: "sidecar~127.0.0.1~productpage-v1.default~default.svc.cluster.local",
      "istio.canonical_service": "productpage",
      "istio.canonical_revision": "v1",
      "istio.namespace": "default",
      "http.request.method": "GET",
      "http.response.status_code": 200,
      "http.status_code": 200,
      "url.path": "/reviews/0",
      "server.address": "reviews",
      "server.port": 9080,
      "url.full": "http://reviews:9080/reviews/0?x=1",
      upstream_cluster: "outbound|9080||reviews.default.svc.cluster.local",
      response_flags: "-",
      "guid:x-request-id": "req-1",
      "user_agent.original": "curl/8",
    });
  });

  it("marks a 5xx server span as an error and starts a root trace when nothing came in", async () => {
    const { tracing, receiver } = await setup(100);
    const trace = tracing.startRequest({});
    expect(trace.parentSpanId).toBe("");
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.requestIdGenerated).toBe(true);
    expect(trace.requestId).toBe("11111111-2222-4333-8444-555555555555");
    tracing.endSpan(trace, spanEnd({ kind: "server", statusCode: 503, responseFlags: RESPONSE_FLAGS.UH }));
    await tracing.forceFlush();
    const span = receiver.requests[0]?.body.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    expect(span).toMatchObject({ traceId: trace.traceId, spanId: trace.spanId, kind: 2 }); // SPAN_KIND_SERVER
    expect(span?.parentSpanId ?? "").toBe("");
    expect(span?.status.code).toBe(2); // STATUS_CODE_ERROR
    expect(attrs(span?.attributes ?? [])).toMatchObject({ response_flags: "UH", "http.status_code": 503 });
  });

  it("exports nothing for unsampled requests but still propagates the ids with sampled=0", async () => {
    const { tracing, receiver } = await setup(1, () => 0.5); // 0.5 * 100 >= 1: not sampled
    const trace = tracing.startRequest({});
    expect(trace.sampled).toBe(false);
    expect(tracing.headerLines(trace)).toContain(`traceparent: 00-${trace.traceId}-${trace.spanId}-00\r\n`);
    tracing.endSpan(trace, spanEnd());
    await tracing.forceFlush();
    expect(receiver.requests).toHaveLength(0);
  });

  it("respects the incoming decision over the rate, and B3 debug forces sampling", async () => {
    const { tracing } = await setup(100);
    expect(tracing.startRequest({ traceparent: `00-${TRACE}-${PARENT}-00` }).sampled).toBe(false);
    expect(tracing.startRequest({ "x-b3-sampled": "0" }).sampled).toBe(false);
    tracing.samplingPercent = 0;
    expect(tracing.startRequest({ b3: `${TRACE}-${PARENT}-d` })).toMatchObject({ sampled: true, debug: true, traceId: TRACE });
    expect(tracing.startRequest({}).sampled).toBe(false);
  });

  it("samples by rate when no decision came in", async () => {
    const draws = [0.004, 0.5, 0.0099, 0.01];
    const { tracing } = await setup(1, () => draws.shift() ?? 1);
    const decisions = [0, 1, 2, 3].map(() => tracing.startRequest({}).sampled);
    expect(decisions).toEqual([true, false, true, false]);
  });

  it("reuses a RequestTrace and mints a new span id each time", async () => {
    const { tracing } = await setup(0);
    const trace = new RequestTrace();
    const first = tracing.startRequest({ traceparent: `00-${TRACE}-${PARENT}-01`, "x-request-id": "a" }, trace).spanId;
    expect(tracing.startRequest({}, trace)).toBe(trace);
    expect(trace.spanId).not.toBe(first);
    expect(trace.parentSpanId).toBe("");
    expect(trace.requestIdGenerated).toBe(true);
  });

  it("keeps working when the collector is down", async () => {
    const receiver = await startReceiver();
    const url = receiver.url;
    await new Promise((resolve) => receiver.server.close(resolve)); // nothing listens there now
    const errors: unknown[] = [];
    const tracing = createTracing({
      samplingPercent: 100,
      nodeId: "n",
      serviceName: "s",
      otlpEndpoint: url,
      exportTimeoutMs: 300,
      onError: (err) => errors.push(err),
    });
    const trace = tracing.startRequest({});
    tracing.endSpan(trace, spanEnd());
    await tracing.forceFlush(); // resolves: the failure is reported, not thrown
    expect(errors).toHaveLength(1);
    expect(tracing.startRequest({}).sampled).toBe(true);
    await tracing.shutdown(); // bounded by exportTimeoutMs, so a dead collector cannot hold up a stop
  });

  it("rejects a sampling rate out of range, naming the flag", () => {
    expect(() => createTracing({ samplingPercent: 101, nodeId: "n", serviceName: "s" })).toThrow(/--trace-sampling/);
    expect(() => createTracing({ samplingPercent: Number.NaN, nodeId: "n", serviceName: "s" })).toThrow(/0 to 100/);
  });
});

describe("IdSource.uuid (x-request-id)", () => {
  it("formats 16 pooled bytes as a version-4, variant-10 UUID", () => {
    expect(new IdSource((b) => void b.fill(0xff)).uuid()).toBe("ffffffff-ffff-4fff-bfff-ffffffffffff");
    expect(new IdSource((b) => void b.fill(0)).uuid()).toBe("00000000-0000-4000-8000-000000000000");
    let n = 0;
    const counting = new IdSource((b) => {
      for (let i = 0; i < b.length; i++) b[i] = n++ & 0xff;
    });
    expect(counting.uuid()).toBe("00010203-0405-4607-8809-0a0b0c0d0e0f");
    expect(counting.uuid()).toBe("10111213-1415-4617-9819-1a1b1c1d1e1f");
  });

  it("newTrace draws the trace id and span id from consecutive pooled bytes, again when a part is all zero", () => {
    let n = 0;
    const counting = new IdSource((b) => {
      for (let i = 0; i < b.length; i++) b[i] = n++ & 0xff;
    });
    const trace = new RequestTrace();
    counting.newTrace(trace);
    expect(trace.traceId).toBe("000102030405060708090a0b0c0d0e0f");
    expect(trace.spanId).toBe("1011121314151617");
    let fills = 0;
    const zeroFirst = new IdSource((b) => {
      // First pool: zeros (every draw invalid until the pool is used up); then 0x01 bytes.
      b.fill(fills++ === 0 ? 0 : 1);
    });
    zeroFirst.newTrace(trace);
    expect(trace.traceId).toBe("01".repeat(16));
    expect(trace.spanId).toBe("01".repeat(8));
  });

  it("gives distinct UUIDs across refills of the pool", () => {
    const ids = new IdSource((b) => void randomFillSync(b));
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = ids.uuid();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });
});
