// Istio's metrics as a real Prometheus (Debian's prometheus package) reads them: the scrape config
// is what `meshctl prometheus-config` prints for the mesh's sidecars; PromQL over
// istio_requests_total and istio_request_duration_milliseconds_bucket gives the request counts the
// apps saw and Istio's labels; and the console's graph reads from it (--prometheus-url).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMiniBookinfo, type MiniBookinfo } from "./support/mini-bookinfo.ts";
import { eventually, workspaceRoot } from "./support/processes.ts";
import { startConsoleControlPlane, type ConsoleControlPlane } from "./support/start-console-control-plane.ts";

const prometheusBinary = "/usr/bin/prometheus";

let mesh: MiniBookinfo | undefined;
let prometheus: ChildProcess | undefined;
let prometheusOutput = "";
let dir = "";
let api = "";
let controlPlane: ConsoleControlPlane | undefined;

/** A free port in this suite's range (23000-23999), probed on loopback. */
async function freePortInRange(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 23000 + Math.floor(Math.random() * 1000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port in 23000-23999");
}

function run(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", "apps/meshctl/src/main.ts", ...args], { cwd: workspaceRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

interface Vector {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<Vector[]> {
  const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: Vector[] } };
  if (body.status !== "success" || body.data === undefined) throw new Error(`${promql}: ${body.error ?? response.status}`);
  return body.data.result;
}

const single = async (promql: string): Promise<number> => Number((await query(promql))[0]?.value[1] ?? Number.NaN);

beforeAll(async () => {
  if (!existsSync(prometheusBinary)) throw new Error(`${prometheusBinary} is missing: install Debian's prometheus package (apt-get install prometheus) to run this suite`);
  dir = await mkdtemp(join(tmpdir(), "prometheus-e2e-"));
  mesh = await startMiniBookinfo();
  for (let i = 0; i < 12; i++) await mesh.visit();
  // Traffic stops here, so what Prometheus scrapes is final.
  const config = await run(["prometheus-config", "--targets", mesh.workloads.map((w) => `127.0.0.1:${w.ports.stats}`).join(","), "--scrape-interval", "3"]);
  if (config.code !== 0) throw new Error(`meshctl prometheus-config exited ${config.code}: ${config.err}`);
  await writeFile(join(dir, "prometheus.yml"), config.out);
  const port = await freePortInRange();
  api = `http://127.0.0.1:${port}`;
  prometheus = spawn(prometheusBinary, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [prometheus.stdout, prometheus.stderr]) stream?.setEncoding("utf8").on("data", (c: string) => (prometheusOutput += c));
  await eventually("Prometheus to scrape all six sidecars", async () => {
    if (prometheus?.exitCode !== null) throw new Error(`prometheus exited ${prometheus?.exitCode}:\n${prometheusOutput}`);
    const up = await query('up{job="envoy-stats"} == 1');
    return up.length === 6 ? up : undefined;
  }, 60_000);
}, 240_000);

afterAll(async () => {
  await controlPlane?.stop();
  if (prometheus !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus?.once("exit", resolve));
    prometheus.kill("SIGTERM");
    await exited;
  }
  await mesh?.stop();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

const count = (predicate: (body: string) => boolean): number => (mesh?.visits ?? []).filter((v) => v.status === 200 && predicate(v.body)).length;

describe("Prometheus over the sidecars' Istio metrics", () => {
  it("counts the requests each hop served, as the client sidecars report them", async () => {
    const details = count((b) => b.includes("details=200"));
    const reviews = count((b) => b.includes("reviews=200"));
    const ratings = count((b) => b.includes("stars=5"));
    expect(details).toBeGreaterThanOrEqual(12);
    expect(ratings).toBeGreaterThan(0);
    // The last scrape may still be on its way after `up`: wait for the counts, then check them exactly.
    await eventually("the details count", async () => ((await single('sum(istio_requests_total{reporter="source",source_workload="productpage-v1",destination_service_name="details",response_code="200"})')) === details ? true : undefined));
    expect(await single('sum(istio_requests_total{reporter="source",source_workload="productpage-v1",destination_service_name="reviews",response_code="200"})')).toBe(reviews);
    expect(await single('sum(istio_requests_total{reporter="source",source_workload=~"reviews-v2|reviews-v3",destination_service_name="ratings",response_code="200"})')).toBe(ratings);
    // What the servers received matches what the clients sent.
    expect(await single('sum(istio_requests_total{reporter="destination",destination_workload="details-v1",response_code="200"})')).toBe(details);
    const byVersion = await query('sum by (destination_version) (istio_requests_total{reporter="source",destination_service_name="reviews",response_code="200"})');
    expect(byVersion.map((v) => v.metric["destination_version"]).sort()).toEqual(["v1", "v2", "v3"]);
    expect(byVersion.reduce((n, v) => n + Number(v.value[1]), 0)).toBe(reviews);
  });

  it("carries Istio's labels and the scrape job's", async () => {
    const [series] = await query('istio_requests_total{reporter="source",source_workload="reviews-v2",destination_service_name="ratings",response_code="200"}');
    expect(series?.metric).toMatchObject({
      job: "envoy-stats",
      source_workload: "reviews-v2",
      source_app: "reviews",
      source_version: "v2",
      source_workload_namespace: "default",
      destination_workload: "ratings-v1",
      destination_app: "ratings",
      destination_version: "v1",
      destination_service: "ratings.default.svc.cluster.local",
      destination_service_namespace: "default",
      request_protocol: "http",
      response_flags: "-",
      connection_security_policy: "unknown",
    });
    const stats = mesh?.workloads.find((w) => w.name === "reviews-v2")?.ports.stats;
    expect(series?.metric["instance"]).toBe(`127.0.0.1:${stats}`);
  });

  it("has one duration observation per request, in Istio's buckets", async () => {
    const details = count((b) => b.includes("details=200"));
    const selector = 'reporter="source",source_workload="productpage-v1",destination_service_name="details",response_code="200"';
    expect(await single(`sum(istio_request_duration_milliseconds_count{${selector}})`)).toBe(details);
    expect(await single(`sum(istio_request_duration_milliseconds_bucket{${selector},le="+Inf"})`)).toBe(details);
    const buckets = await query(`sum by (le) (istio_request_duration_milliseconds_bucket{${selector}})`);
    expect(buckets.map((b) => b.metric["le"])).toEqual(expect.arrayContaining(["0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "+Inf"]));
    const median = await single(`histogram_quantile(0.5, sum by (le) (istio_request_duration_milliseconds_bucket{${selector}}))`);
    expect(median).toBeGreaterThan(0);
    expect(median).toBeLessThan(30_000);
  });

  it("feeds the console's graph when the control plane reads from it", async () => {
    const running = mesh;
    if (running === undefined) throw new Error("no mesh");
    // Traffic while Prometheus scrapes, so increase() over the window sees it.
    for (let round = 0; round < 3; round++) {
      await running.settle();
      for (let i = 0; i < 5; i++) await running.visit();
    }
    controlPlane = await startConsoleControlPlane({ scrape: [], prometheusUrl: api });
    const admin = controlPlane.admin;
    const graph = await eventually("the graph from Prometheus", async () => {
      const body = (await (await fetch(`${admin}/console/api/graph?window=300`)).json()) as { source: string; errors: string[]; edges: { source: string; target: string; requestsPerSecond: number; p99Ms: number | null }[] };
      return body.edges.some((e) => e.source === "wl:default/reviews-v2" && e.target === "svc:default/ratings") ? body : undefined;
    }, 60_000);
    expect(graph.source).toBe(`Prometheus at ${api}`);
    expect(graph.errors).toEqual([]);
    const details = graph.edges.find((e) => e.source === "wl:default/productpage-v1" && e.target === "svc:default/details");
    expect(details?.requestsPerSecond).toBeGreaterThan(0);
    expect(details?.p99Ms).toBeGreaterThan(0);
    expect(graph.edges.map((e) => e.target)).toEqual(expect.arrayContaining(["wl:default/reviews-v1", "wl:default/reviews-v2", "wl:default/reviews-v3", "wl:default/ratings-v1"]));
  }, 180_000);
});
