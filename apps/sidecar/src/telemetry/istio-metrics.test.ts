import { describe, expect, it } from "vitest";
import { ISTIO_DEFAULT_BUCKETS, ISTIO_HTTP_LABELS, ISTIO_TCP_LABELS, createIstioMetrics } from "./istio-metrics.ts";
import { RESPONSE_FLAGS } from "./response-flags.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (0.0.4) into samples and `# TYPE` lines. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const labelText = m[2] ?? "";
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let consumed = 0;
    for (let lm = re.exec(labelText); lm; lm = re.exec(labelText)) {
      labels[lm[1] as string] = (lm[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      consumed += lm[0].length;
    }
    if (consumed !== labelText.length) throw new Error(`unparsable labels: ${labelText}`);
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

const self = {
  workload: "productpage-v1",
  namespace: "default",
  principal: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
  app: "productpage",
  version: "v1",
  cluster: "Kubernetes",
};
const reviews = {
  workload: "reviews-v2",
  namespace: "default",
  principal: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
  app: "reviews",
  version: "v2",
  cluster: "Kubernetes",
};
const reviewsService = { host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" };

async function scrape(metrics: ReturnType<typeof createIstioMetrics>) {
  return parseExposition(await metrics.registry.metrics());
}

describe("createIstioMetrics", () => {
  it("emits istio_requests_total with Istio's full label set for reporter=source", async () => {
    const metrics = createIstioMetrics({ reporter: "source", self });
    const peer = metrics.peer({ peer: reviews, service: reviewsService });
    peer.recordRequest("http", 200, -1, 0, 12, 300, 1500);
    peer.recordRequest("http", 200, -1, 0, 7, 300, 1500);
    const { samples, types } = await scrape(metrics);
    expect(types.get("istio_requests_total")).toBe("counter");
    const totals = samples.filter((s) => s.name === "istio_requests_total");
    expect(totals).toHaveLength(1);
    expect(totals[0]?.value).toBe(2);
    expect(Object.keys(totals[0]?.labels ?? {})).toEqual([...ISTIO_HTTP_LABELS]);
    expect(totals[0]?.labels).toMatchObject({
      reporter: "source",
      source_workload: "productpage-v1",
      source_canonical_service: "productpage",
      source_canonical_revision: "v1",
      source_workload_namespace: "default",
      source_principal: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
      source_app: "productpage",
      source_version: "v1",
      source_cluster: "Kubernetes",
      destination_workload: "reviews-v2",
      destination_workload_namespace: "default",
      destination_principal: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
      destination_app: "reviews",
      destination_version: "v2",
      destination_service: "reviews.default.svc.cluster.local",
      destination_service_name: "reviews",
      destination_service_namespace: "default",
      destination_cluster: "Kubernetes",
      request_protocol: "http",
      response_code: "200",
      grpc_response_status: "",
      response_flags: "-",
      connection_security_policy: "unknown",
    });
  });

  it("swaps the roles for reporter=destination and defaults missing labels to unknown", async () => {
    const metrics = createIstioMetrics({ reporter: "destination", self: reviews });
    metrics
      .peer({ peer: { workload: "productpage-v1" }, service: reviewsService, securityPolicy: "mutual_tls" })
      .recordRequest("grpc", 200, 14, 0, 1, 1, 1);
    const { samples } = await scrape(metrics);
    const total = samples.find((s) => s.name === "istio_requests_total");
    expect(total?.labels).toMatchObject({
      reporter: "destination",
      source_workload: "productpage-v1",
      source_canonical_service: "productpage-v1",
      source_canonical_revision: "latest",
      source_principal: "unknown",
      source_app: "unknown",
      destination_workload: "reviews-v2",
      destination_canonical_service: "reviews",
      request_protocol: "grpc",
      grpc_response_status: "14",
      connection_security_policy: "mutual_tls",
    });
  });

  it("keeps one series per (code, grpc status, flags) and formats flags as Envoy does", async () => {
    const metrics = createIstioMetrics({ reporter: "source", self });
    const peer = metrics.peer({ peer: reviews, service: reviewsService });
    peer.recordRequest("http", 200, -1, 0, 1, 1, 1);
    peer.recordRequest("http", 503, -1, RESPONSE_FLAGS.UH, 1, 1, 1);
    peer.recordRequest("http", 503, -1, RESPONSE_FLAGS.UH, 1, 1, 1);
    peer.recordRequest("http", 503, -1, RESPONSE_FLAGS.URX | RESPONSE_FLAGS.UF, 1, 1, 1);
    peer.recordRequest("http", 200, -1, 0, 1, 1, 1);
    const totals = (await scrape(metrics)).samples.filter((s) => s.name === "istio_requests_total");
    const byKey = Object.fromEntries(totals.map((s) => [`${s.labels.response_code} ${s.labels.response_flags}`, s.value]));
    expect(byKey).toEqual({ "200 -": 2, "503 UH": 2, "503 UF,URX": 1 });
  });

  it("returns the same recorder for equal bindings, so a config rebuild keeps one series", async () => {
    const metrics = createIstioMetrics({ reporter: "source", self });
    const a = metrics.peer({ peer: { ...reviews }, service: { ...reviewsService } });
    const b = metrics.peer({ peer: { ...reviews }, service: { ...reviewsService } });
    expect(a).toBe(b);
    expect(metrics.peer({ peer: { ...reviews, version: "v3" }, service: reviewsService })).not.toBe(a);
  });

  it("buckets durations and sizes with Istio's boundaries, le inclusive", async () => {
    const metrics = createIstioMetrics({ reporter: "source", self });
    const peer = metrics.peer({ peer: reviews, service: reviewsService });
    peer.recordRequest("http", 200, -1, 0, 0.5, 1000, 2e9);
    peer.recordRequest("http", 200, -1, 0, 30, 1001, 10);
    const { samples, types } = await scrape(metrics);
    for (const name of ["istio_request_duration_milliseconds", "istio_request_bytes", "istio_response_bytes"]) {
      expect(types.get(name)).toBe("histogram");
      const buckets = samples.filter((s) => s.name === `${name}_bucket`);
      expect(buckets.map((s) => s.labels.le)).toEqual([...ISTIO_DEFAULT_BUCKETS.map(String), "+Inf"]);
      expect(buckets.map((s) => (s.labels.le === "+Inf" ? Infinity : Number(s.labels.le)))).toEqual([...ISTIO_DEFAULT_BUCKETS, Infinity]);
      expect(samples.find((s) => s.name === `${name}_count`)?.value).toBe(2);
    }
    const le = (name: string, bound: string) =>
      samples.find((s) => s.name === `${name}_bucket` && s.labels.le === bound)?.value;
    expect(le("istio_request_duration_milliseconds", "0.5")).toBe(1);
    expect(le("istio_request_duration_milliseconds", "25")).toBe(1);
    expect(le("istio_request_duration_milliseconds", "50")).toBe(2);
    expect(le("istio_request_bytes", "1000")).toBe(1);
    expect(le("istio_request_bytes", "2500")).toBe(2);
    expect(le("istio_response_bytes", "10")).toBe(1);
    expect(le("istio_response_bytes", "3600000")).toBe(1);
    expect(le("istio_response_bytes", "+Inf")).toBe(2);
    expect(samples.find((s) => s.name === "istio_request_duration_milliseconds_sum")?.value).toBe(30.5);
  });

  it("emits the TCP counters with tcp labels (no response_code)", async () => {
    const metrics = createIstioMetrics({ reporter: "destination", self: reviews });
    const peer = metrics.peer({ peer: self, service: reviewsService, securityPolicy: "mutual_tls" });
    peer.recordTcpOpened(0);
    peer.recordTcpBytes(100, 40, 0);
    peer.recordTcpBytes(5, 0, 0);
    peer.recordTcpClosed(0);
    peer.recordTcpOpened(0);
    const { samples, types } = await scrape(metrics);
    const value = (name: string) => samples.find((s) => s.name === name)?.value;
    expect(value("istio_tcp_sent_bytes_total")).toBe(105);
    expect(value("istio_tcp_received_bytes_total")).toBe(40);
    expect(value("istio_tcp_connections_opened_total")).toBe(2);
    expect(value("istio_tcp_connections_closed_total")).toBe(1);
    expect(types.get("istio_tcp_sent_bytes_total")).toBe("counter");
    const sample = samples.find((s) => s.name === "istio_tcp_sent_bytes_total");
    expect(Object.keys(sample?.labels ?? {})).toEqual([...ISTIO_TCP_LABELS]);
    expect(sample?.labels.request_protocol).toBe("tcp");
  });

  it("shares one set of metrics between a source and a destination reporter on one registry", async () => {
    const outbound = createIstioMetrics({ reporter: "source", self });
    const inbound = createIstioMetrics({ reporter: "destination", self, registry: outbound.registry });
    outbound.peer({ peer: reviews }).recordRequest("http", 200, -1, 0, 1, 1, 1);
    inbound.peer({ peer: reviews }).recordRequest("http", 200, -1, 0, 1, 1, 1);
    const totals = (await scrape(outbound)).samples.filter((s) => s.name === "istio_requests_total");
    expect(totals.map((s) => s.labels.reporter).sort()).toEqual(["destination", "source"]);
    expect(inbound.proxyStats).toBe(outbound.proxyStats);
  });

  it("refuses a second reporter with other buckets on the same registry", () => {
    const outbound = createIstioMetrics({ reporter: "source", self });
    expect(() => createIstioMetrics({ reporter: "destination", self, registry: outbound.registry, buckets: [1, 2] })).toThrow(
      /same buckets/,
    );
  });

  it("escapes label values in the exposition", async () => {
    const metrics = createIstioMetrics({ reporter: "source", self: { workload: 'we"ird\\name' } });
    metrics.peer({ peer: reviews }).recordRequest("http", 200, -1, 0, 1, 1, 1);
    const total = (await scrape(metrics)).samples.find((s) => s.name === "istio_requests_total");
    expect(total?.labels.source_workload).toBe('we"ird\\name');
  });

  it("records out-of-range codes instead of throwing", async () => {
    const metrics = createIstioMetrics({ reporter: "source", self });
    const peer = metrics.peer({ peer: reviews });
    peer.recordRequest("grpc", 1234, 99, 0, 1, 1, 1);
    const total = (await scrape(metrics)).samples.find((s) => s.name === "istio_requests_total");
    expect(total?.labels).toMatchObject({ response_code: "0", grpc_response_status: "2" });
  });

  it("rejects buckets that do not increase, naming the index", () => {
    expect(() => createIstioMetrics({ reporter: "source", self, buckets: [1, 5, 5] })).toThrow(/buckets\[2\] = 5/);
  });

  it("resets every series with registry.resetMetrics()", async () => {
    const metrics = createIstioMetrics({ reporter: "source", self });
    metrics.peer({ peer: reviews }).recordRequest("http", 200, -1, 0, 1, 1, 1);
    metrics.registry.resetMetrics();
    const total = (await scrape(metrics)).samples.find((s) => s.name === "istio_requests_total");
    expect(total?.value).toBe(0);
  });
});

describe("Telemetry metric overrides (setOverrides)", () => {
  const setup = () => {
    const outbound = createIstioMetrics({ reporter: "source", self: { workload: "web" } });
    const inbound = createIstioMetrics({ reporter: "destination", self: { workload: "web" }, registry: outbound.registry });
    const peer = outbound.peer({ peer: { workload: "api" } });
    peer.recordRequest("http", 200, -1, 0, 3, 100, 200);
    peer.recordRequest("http", 500, -1, 0, 700, 100, 200);
    inbound.peer({ peer: { workload: "client" } }).recordRequest("http", 200, -1, 0, 3, 100, 200);
    const scrape = async () => parseExposition(await outbound.registry.metrics()).samples;
    return { outbound, inbound, scrape };
  };

  it("leaves out the disabled metric of one reporter only", async () => {
    const { outbound, scrape } = setup();
    outbound.setOverrides({ REQUEST_COUNT: { disabled: true, tags: {} } });
    const samples = await scrape();
    expect(samples.filter((s) => s.name === "istio_requests_total").map((s) => s.labels["reporter"])).toEqual(["destination"]);
    expect(samples.filter((s) => s.name === "istio_request_duration_milliseconds_count" && s.labels["reporter"] === "source")).toHaveLength(2);
  });

  it("sums the series a removed label made equal, buckets included, and sets an upserted label", async () => {
    const { outbound, scrape } = setup();
    outbound.setOverrides({ REQUEST_DURATION: { disabled: false, tags: { response_code: { operation: "REMOVE" }, tier: { operation: "UPSERT", value: "gold" } } } });
    const samples = (await scrape()).filter((s) => s.name.startsWith("istio_request_duration_milliseconds") && s.labels["reporter"] === "source");
    const count = samples.filter((s) => s.name === "istio_request_duration_milliseconds_count");
    expect(count).toHaveLength(1);
    expect(count[0]?.value).toBe(2);
    expect(count[0]?.labels).not.toHaveProperty("response_code");
    expect(count[0]?.labels["tier"]).toBe("gold");
    expect(samples.find((s) => s.name === "istio_request_duration_milliseconds_sum")?.value).toBe(703);
    expect(samples.find((s) => s.name === "istio_request_duration_milliseconds_bucket" && s.labels["le"] === "5")?.value).toBe(1);
    expect(samples.find((s) => s.name === "istio_request_duration_milliseconds_bucket" && s.labels["le"] === "1000")?.value).toBe(2);
  });

  it("takes the next overrides as they come, and none restores every series", async () => {
    const { outbound, scrape } = setup();
    outbound.setOverrides({ REQUEST_COUNT: { disabled: true, tags: {} } });
    outbound.setOverrides({});
    expect((await scrape()).filter((s) => s.name === "istio_requests_total")).toHaveLength(3);
  });
});
