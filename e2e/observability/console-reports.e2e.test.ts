// The console's default traffic source: six managed sidecar processes take their config from a
// real control plane and report their traffic on the discovery stream (no scraping, no
// Prometheus). The graph shows bookinfo's edges from those reports, the reviews page charts
// request rate, errors and p99 over the window, the identities page lists every proxy, and the
// registry page shows a real registry server's Raft state and gossip members. Then the pages in
// headless Chromium (screenshots in test-output/observability/).
import { existsSync } from "node:fs";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startChild, workspaceRoot, type Child } from "./support/processes.ts";
import { startMiniBookinfo, type MiniBookinfo } from "./support/mini-bookinfo.ts";
import { startConsoleControlPlane, type ConsoleControlPlane } from "./support/start-console-control-plane.ts";

interface Graph {
  source: string;
  nodes: { id: string; kind: string; health: string }[];
  edges: { source: string; target: string; requestsPerSecond: number; errorRate: number; p99Ms: number | null; health: string; responseCodes: Record<string, number> }[];
  errors: string[];
}

/** The registry's Raft port: fixed because --peers names it before the server starts (this suite's range is 25000–25999). */
const RAFT_PORT = 25_410;

let registry: Child;
let registryDir: string;
let ca: Child;
let caDir: string;

/** `meshctl token issue` as a user runs it: the workload token the CA attests `namespace/serviceAccount` with. */
async function issueToken(namespace: string, serviceAccount: string, file: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", "apps/meshctl/src/main.ts", "token", "issue", "--ca-data-dir", join(caDir, "data"), "-n", namespace, "--service-account", serviceAccount, "--ttl", "1d"], { cwd: workspaceRoot });
  await writeFile(file, stdout.trim());
  return file;
}
let registryHttp: string;
let controlPlane: ConsoleControlPlane;
let mesh: MiniBookinfo;

beforeAll(async () => {
  registryDir = await mkdtemp(join(tmpdir(), "console-registry-"));
  registry = startChild("registry", "apps/registry/src/main.ts", [
    "--node-id", "r1", "--peers", `r1=127.0.0.1:${RAFT_PORT}`, "--data-dir", registryDir, "--bind", "127.0.0.1",
    "--raft-port", String(RAFT_PORT), "--http-port", "0", "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--gossip-port", "0",
  ]);
  const ready = await registry.waitForLine("ready", 120_000);
  registryHttp = `http://127.0.0.1:${String(ready["httpPort"])}`;
  // The mesh CA: the control plane and every sidecar get their SVIDs from it (the discovery
  // stream is mutual TLS), and each proxy reports its SVID. Ratings asks for 30 min (expiring
  // within the hour), the others for 24 h.
  caDir = await mkdtemp(join(tmpdir(), "console-ca-"));
  ca = startChild("ca", "apps/ca/src/main.ts", ["--data-dir", join(caDir, "data"), "--host", "127.0.0.1", "--grpc-port", "0", "--admin-port", "0"]);
  const caReady = await ca.waitForLine("ready", 120_000);
  const caAddress = `127.0.0.1:${String(caReady["grpcPort"])}`;
  const rootCert = join(caDir, "data", "root-cert.pem");
  const controlPlaneToken = await issueToken("istio-system", "control-plane", join(caDir, "control-plane.jwt"));
  const workloadToken = await issueToken("default", "default", join(caDir, "workload.jwt"));
  controlPlane = await startConsoleControlPlane({ scrape: [], registryHttp, args: ["--trust-bundle", rootCert, "--ca-address", caAddress, "--workload-token-file", controlPlaneToken] });
  mesh = await startMiniBookinfo({
    managed: { discoveryAddress: controlPlane.discoveryAddress, configDir: controlPlane.configDir },
    sidecarArgs: (w) => ["--ca-address", caAddress, "--ca-root-cert", rootCert, "--workload-token-file", workloadToken, "--svid-ttl-seconds", w.name === "ratings-v1" ? "1800" : "86400"],
  });
}, 240_000);

afterAll(async () => {
  await mesh?.stop();
  await controlPlane?.stop();
  await registry?.stop();
  if (registryDir !== undefined) await rm(registryDir, { recursive: true, force: true });
  await ca?.stop();
  if (caDir !== undefined) await rm(caDir, { recursive: true, force: true });
});

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${controlPlane.admin}/console/api/${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

const edge = (g: Graph, source: string, target: string) => g.edges.find((e) => e.source === source && e.target === target);

describe("console on the proxies' reports", () => {
  it("draws bookinfo's edges from what the managed sidecars report on the discovery stream", async () => {
    await mesh.settle();
    for (let i = 0; i < 30; i++) expect((await mesh.visit()).status).toBe(200);
    // Reports come every 5 s (--traffic-report-seconds): wait for every proxy's, and for productpage's
    // that counts this test's 30 visits (each called details once).
    const requests = (e: Graph["edges"][number] | undefined): number => Object.values(e?.responseCodes ?? {}).reduce((a, b) => a + b, 0);
    let last: Graph | undefined;
    const g = await eventually(
      "every proxy to report, and productpage → details to count 30 requests",
      async () => {
        last = await api<Graph>("graph?window=60");
        const complete = last.source === "reports of 6 proxy(ies) on the discovery stream" && requests(edge(last, "wl:default/productpage-v1", "svc:default/details")) >= 30;
        return complete ? last : undefined;
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; the last graph: ${last?.source ?? "none"} ${JSON.stringify(last?.edges.map((e) => `${e.source} -> ${e.target}`))}`);
    });
    expect(g.errors).toEqual([]);
    for (const [source, target] of [
      ["wl:default/productpage-v1", "svc:default/details"],
      ["wl:default/productpage-v1", "svc:default/reviews"],
      ["svc:default/reviews", "wl:default/reviews-v1"],
      ["svc:default/reviews", "wl:default/reviews-v2"],
      ["svc:default/reviews", "wl:default/reviews-v3"],
      ["svc:default/ratings", "wl:default/ratings-v1"],
    ] as const) {
      expect(edge(g, source, target)?.errorRate, `${source} → ${target}`).toBeLessThan(0.1);
    }
    expect(edge(g, "wl:default/reviews-v1", "svc:default/ratings")).toBeUndefined();
    // Both reporters of the details call, and no more than the visits made so far (each calls details once).
    expect(requests(edge(g, "wl:default/productpage-v1", "svc:default/details"))).toBeLessThanOrEqual(mesh.visits.length);
    expect(edge(g, "wl:default/productpage-v1", "svc:default/details")?.p99Ms).toBeGreaterThan(0);
    expect(edge(g, "wl:default/reviews-v2", "svc:default/ratings")).toBeDefined();
    expect(edge(g, "wl:default/reviews-v3", "svc:default/ratings")).toBeDefined();
  });

  it("charts the reviews service's request rate, errors and p99 over the window", async () => {
    const body = await api<{ series: { stepSeconds: number; points: { requestsPerSecond: number; errorRate: number | null; p99Ms: number | null }[] } }>("services/default/reviews?window=300");
    expect(body.series.stepSeconds).toBe(5);
    expect(body.series.points).toHaveLength(60);
    const busy = body.series.points.filter((p) => p.requestsPerSecond > 0);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.every((p) => p.errorRate !== null && p.p99Ms !== null)).toBe(true);
  });

  it("lists every proxy on the identities page and the registry's Raft leader and gossip members", async () => {
    const identities = await api<{ identities: { proxy: string; spiffeId: string; serial: string | null; state: string; expiresInSeconds: number | null }[] }>("identities");
    const byProxy = Object.fromEntries(identities.identities.map((i) => [i.proxy, i]));
    expect(Object.keys(byProxy).sort()).toEqual(["details-v1.default", "productpage-v1.default", "ratings-v1.default", "reviews-v1.default", "reviews-v2.default", "reviews-v3.default"]);
    for (const workload of ["productpage-v1", "details-v1", "reviews-v1", "reviews-v2", "reviews-v3", "ratings-v1"]) {
      expect(byProxy[`${workload}.default`], workload).toMatchObject({ spiffeId: "spiffe://cluster.local/ns/default/sa/default", state: workload === "ratings-v1" ? "expiring" : "valid" });
      expect(byProxy[`${workload}.default`]?.serial, workload).toMatch(/^[0-9a-f]+$/i);
    }
    // The serial is the one the CA logged for that certificate.
    const issued = ca.outputLines().filter((l) => l.includes('"certificate issued"')).map((l) => JSON.parse(l) as { serial: string; ttlSeconds: number });
    expect(issued.map((c) => c.serial.toLowerCase())).toContain(byProxy["ratings-v1.default"]?.serial?.toLowerCase());
    expect(byProxy["ratings-v1.default"]?.expiresInSeconds).toBeLessThanOrEqual(1800);
    expect(byProxy["details-v1.default"]?.expiresInSeconds).toBeGreaterThan(3600);
    const reg = await eventually("the registry page to show a leader", async () => {
      const r = await api<{ leader: string; servers: { id: string; leader: boolean }[]; members: { name: string; status: string; role: string; protocol: number }[]; errors: string[] }>("registry");
      return r.leader !== "" ? r : undefined;
    });
    expect(reg.errors).toEqual([]);
    expect(reg.servers).toEqual([expect.objectContaining({ id: "r1", leader: true })]);
    expect(reg.members).toEqual([expect.objectContaining({ name: "r1", status: "alive" })]);
    expect(reg.members[0]?.protocol).toBeGreaterThan(0);
  });

  it("renders the charts, identities and registry pages in headless Chromium without console errors", async () => {
    const executablePath = "/usr/bin/chromium";
    if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: install Debian's chromium package (apt-get install chromium) to run the browser test`);
    const artifacts = join(workspaceRoot, "test-output", "observability");
    await mkdir(artifacts, { recursive: true });
    for (let i = 0; i < 10; i++) await mesh.visit();
    const browser = await chromium.launch({ executablePath, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console: ${message.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`page: ${error.message}`));
      await page.goto(`${controlPlane.admin}/console/#/service/default/reviews`);
      // Browser-side code as strings: this file is type-checked without the DOM library.
      await page.waitForFunction('Number(document.getElementById("chart-rate")?.dataset.values ?? "0") > 0', undefined, { timeout: 30_000 });
      const charts = (await page.evaluate(`["chart-rate", "chart-errors", "chart-p99"].map((id) => {
        const svg = document.getElementById(id);
        return { id, points: Number(svg?.dataset.points ?? "0"), values: Number(svg?.dataset.values ?? "0"), line: svg?.querySelector("path.series")?.getAttribute("d") ?? "" };
      })`)) as { id: string; points: number; values: number; line: string }[];
      for (const chart of charts) {
        expect(chart.points, chart.id).toBeGreaterThan(0);
        expect(chart.values, chart.id).toBeGreaterThan(0);
        expect(chart.line, chart.id).toMatch(/^M[\d.]+,[\d.]+/);
      }
      await page.screenshot({ path: join(artifacts, "console-reports-service-reviews.png"), fullPage: true });

      await page.goto(`${controlPlane.admin}/console/#/identities`);
      await page.waitForFunction('document.querySelectorAll("#identities tbody tr").length === 6', undefined, { timeout: 15_000 });
      expect(await page.locator('#identities tbody tr[data-state="expiring"] td').nth(1).textContent()).toBe("ratings-v1.default");
      await page.screenshot({ path: join(artifacts, "console-reports-identities.png"), fullPage: true });

      await page.goto(`${controlPlane.admin}/console/#/registry`);
      await page.waitForFunction('document.querySelectorAll("#gossip-members tbody tr").length === 1', undefined, { timeout: 15_000 });
      expect(await page.locator("#gossip-members tbody tr td").nth(2).textContent()).toBe("alive");
      await page.screenshot({ path: join(artifacts, "console-reports-registry.png"), fullPage: true });

      await page.goto(`${controlPlane.admin}/console/`);
      await page.waitForFunction('Number(document.getElementById("graph")?.dataset.edges ?? "0") > 0', undefined, { timeout: 30_000 });
      await page.screenshot({ path: join(artifacts, "console-reports-graph.png"), fullPage: true });
      expect(problems, problems.join("\n")).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
