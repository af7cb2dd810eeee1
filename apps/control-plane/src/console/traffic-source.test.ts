import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { graphQueries, prometheusTrafficSource, scrapeTrafficSource } from "./traffic-source.ts";

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(handler: (url: string) => { status: number; body: string }): Promise<string> {
  const server = createServer((req, res) => {
    const answer = handler(req.url ?? "/");
    res.writeHead(answer.status, { "content-type": "text/plain" }).end(answer.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const line = (code: string, n: number) => `istio_requests_total{reporter="source",source_workload="a",destination_workload="b",response_code="${code}"} ${n}`;

describe("scrapeTrafficSource", () => {
  it("reports increases since the scrape at the window's start, from the proxy's start before that, and names failed targets", async () => {
    let count = 5;
    const base = await serve(() => ({ status: 200, body: `# TYPE istio_requests_total counter\n${line("200", count)}\nother_metric 1\n` }));
    let now = 1_000_000;
    const source = scrapeTrafficSource({ targets: () => [`${base}/stats/prometheus`, "http://127.0.0.1:1/stats/prometheus"], fetch: (u, i) => fetch(u, i), now: () => now });
    const first = await source.read(60);
    expect(first.requests.map((s) => s.value)).toEqual([5]);
    expect(first.errors).toHaveLength(1);
    expect(first.errors[0]).toContain("http://127.0.0.1:1/stats/prometheus");
    count = 12;
    now += 61_000;
    expect((await source.read(60)).requests.map((s) => s.value)).toEqual([7]);
    // Within the minimum interval the last scrape is reused.
    count = 100;
    now += 10;
    expect((await source.read(60)).requests.map((s) => s.value)).toEqual([7]);
  });
});

describe("prometheusTrafficSource", () => {
  it("asks /api/v1/query with increase() over the window and reads the vector", async () => {
    const asked: string[] = [];
    const base = await serve((url) => {
      const query = new URL(url, "http://x").searchParams.get("query") ?? "";
      asked.push(query);
      const le = query.includes("_bucket") ? { le: "+Inf" } : { response_code: "200" };
      return { status: 200, body: JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: { reporter: "source", ...le }, value: [1, "42"] }] } }) };
    });
    const reading = await prometheusTrafficSource({ url: `${base}/`, fetch: (u, i) => fetch(u, i) }).read(300);
    expect(asked.sort()).toEqual([graphQueries(300).durationBuckets, graphQueries(300).requests].sort());
    expect(asked[0]).toContain("[300s]");
    expect(reading.requests).toEqual([{ name: "istio_requests_total", labels: { reporter: "source", response_code: "200" }, value: 42 }]);
    expect(reading.durationBuckets[0]?.labels["le"]).toBe("+Inf");
  });

  it("reports a failing Prometheus as an error, not an exception", async () => {
    const base = await serve(() => ({ status: 400, body: JSON.stringify({ status: "error", error: "parse error" }) }));
    const reading = await prometheusTrafficSource({ url: base, fetch: (u, i) => fetch(u, i) }).read(60);
    expect(reading.requests).toEqual([]);
    expect(reading.errors.join("\n")).toContain("parse error");
  });
});

describe("time series", () => {
  it("scrapes: each scrape's increase since the one before, at the later scrape", async () => {
    let count = 5;
    const base = await serve(() => ({ status: 200, body: `${line("200", count)}\n` }));
    let now = 1_000_000;
    const source = scrapeTrafficSource({ targets: () => [`${base}/stats/prometheus`], fetch: (u, i) => fetch(u, i), now: () => now });
    await source.read(60);
    count = 8;
    now += 5_000;
    await source.read(60);
    count = 20;
    now += 5_000;
    const series = await source.readSeries(20, 5);
    expect(series.points.map((p) => [p.endMs - 1_000_000, p.requests.reduce((n, s) => n + s.value, 0)])).toEqual([
      [-5_000, 0],
      [0, 0],
      [5_000, 3],
      [10_000, 12],
    ]);
  });

  it("Prometheus: asks /api/v1/query_range with increase() over the step and bins the matrix", async () => {
    const asked: URLSearchParams[] = [];
    const base = await serve((url) => {
      const params = new URL(url, "http://x").searchParams;
      asked.push(params);
      const bucket = (params.get("query") ?? "").includes("_bucket");
      const metric = bucket ? { reporter: "source", response_code: "200", le: "+Inf" } : { reporter: "source", response_code: "200" };
      return { status: 200, body: JSON.stringify({ status: "success", data: { resultType: "matrix", result: [{ metric, values: [[1_000_050, "4"], [1_000_060, "6"]] }] } }) };
    });
    const series = await prometheusTrafficSource({ url: base, fetch: (u, i) => fetch(u, i), now: () => 1_000_060_000 }).readSeries(60, 10);
    expect(asked.map((p) => [p.get("start"), p.get("end"), p.get("step")])).toEqual([
      ["1000010", "1000060", "10"],
      ["1000010", "1000060", "10"],
    ]);
    expect(asked[0]?.get("query")).toContain("[10s]");
    expect(series.points).toHaveLength(6);
    expect(series.points.map((p) => p.requests.reduce((n, s) => n + s.value, 0))).toEqual([0, 0, 0, 0, 4, 6]);
    expect(series.points.at(-1)?.durationBuckets[0]?.value).toBe(6);
  });
});
